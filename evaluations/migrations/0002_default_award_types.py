"""The award types of the interactive teaching method (互动式岗位教学法 · 双向激励).

Award types are data: a system admin may rename them, change thresholds, weights and
points, or add more. Names are the official titles, so they are stored in Chinese.
Points are left empty: the credit rules (credits' award rules by code) decide.
"""

from decimal import Decimal

from django.db import migrations

DEFAULT_TYPES = [
    # code, name, rule, for_lecturers, extra fields, description
    ("excellent_lecturer", "年度优秀教员", "excellent_lecturer", True,
     {"min_satisfaction": Decimal("80"), "min_classes": 1},
     "课程质量满意度测评满意率80%以上的教员，有资格评选年度优秀教员。"),
    ("excellent_courseware", "年度优秀课件（教案）", "excellent_courseware", True, {},
     "从年度优秀教员的课件（教案）中评选。"),
    ("model_lecturer", "模范教员", "model_lecturer", True, {"consecutive_years": 3},
     "连续三年被评为年度优秀教员的干部职工，授予模范教员称号。"),
    ("best_innovation", "最佳创新奖", "year_lecturers", True,
     {"min_satisfaction": Decimal("0"), "min_classes": 1}, "根据上台讲课的主题、讲课表现及效果评选。"),
    ("best_professional", "最佳专业奖", "year_lecturers", True,
     {"min_satisfaction": Decimal("0"), "min_classes": 1}, "根据上台讲课的主题、讲课表现及效果评选。"),
    ("best_performance", "最佳表现奖", "year_lecturers", True,
     {"min_satisfaction": Decimal("0"), "min_classes": 1}, "根据上台讲课的主题、讲课表现及效果评选。"),
    ("best_potential", "最佳潜力奖", "year_lecturers", True,
     {"min_satisfaction": Decimal("0"), "min_classes": 1}, "根据上台讲课的主题、讲课表现及效果评选。"),
    ("excellent_learner", "优秀学员", "learner_score", False,
     {"weight_participation": Decimal("0.5"), "weight_exams": Decimal("0.3"),
      "weight_appraisal": Decimal("0.2"), "min_score": Decimal("85")},
     "教员评优秀学员：以互动教学中的参与情况为主，参考网上月考成绩和年度考核等次。"),
    ("post_model", "岗位履职标兵", "learner_score", False,
     {"weight_participation": Decimal("0.3"), "weight_exams": Decimal("0.3"),
      "weight_appraisal": Decimal("0.4"), "min_score": Decimal("85")},
     "以互动式岗位教学实践的参与情况、全员法制网上月考的考核情况、本人岗位履职绩效考核情况为依据。"),
]


def create(apps, schema_editor):
    AwardType = apps.get_model("evaluations", "AwardType")
    for order, (code, name, rule, for_lecturers, extra, description) in enumerate(DEFAULT_TYPES):
        AwardType.objects.get_or_create(
            code=code,
            defaults={"name": name, "rule": rule, "for_lecturers": for_lecturers,
                      "description": description, "sort_order": (order + 1) * 10, **extra},
        )


def remove(apps, schema_editor):
    AwardType = apps.get_model("evaluations", "AwardType")
    AwardType.objects.filter(code__in=[t[0] for t in DEFAULT_TYPES], awards__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("evaluations", "0001_initial")]
    operations = [migrations.RunPython(create, remove)]
