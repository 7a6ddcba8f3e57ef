"""The demo organisation: an invented city (渝江市) of any size, built idempotently.

`manage.py seed_demo --staff N` calls `demo_organisation_build` and then every seeder in
`settings.DEMO_SEEDERS`. Everything is invented (no real person's data) and deterministic:
the same `--seed` always yields the same units and the same people.

How the demo recognises what it created, and why it never touches anything else:

* Demo units have codes ``D000001``, ``D000002`` … (``DEMO_UNIT_PREFIX`` + 6 digits),
  numbered in the order the tree is grown.
* Demo staff have employee numbers ``D0000001`` … (``DEMO_STAFF_PREFIX`` + 7 digits);
  the five demo logins are ``demo-learner``, ``demo-admin``, ``demo-manager``,
  ``demo-teacher`` and ``demo-sysadmin``.
* The demo only ever *adds* rows. A unit or person whose code / employee number already
  exists is left exactly as it is (even if someone else created it), so running it again
  changes nothing and people from a real roster import are never modified.

Growing: unit *i* and person *i* depend only on the seed and *i*, never on N. The tree is
grown one unit at a time by a seeded random process (so the first k units are the same
for every N ≥ k), and person *i* works in one of the first `unit_count_for(i + 1)` units.
So `--staff 200000` after `--staff 300` adds units and people and keeps the first 300.
Use the same `--seed` when growing an existing demo organisation.

Scale: units and people are written with `bulk_create` in batches, their materialised
paths computed here (steplen 4, alphabet 0-9A-Z, as `OrgUnit` defines), and every demo
person shares ONE password hash computed once (PBKDF2 per person would take hours at
N = 200,000). That shared password is `DEMO_PASSWORD`.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import itertools
import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TextIO

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

from org import selectors, services
from org.models import CadreLevel, Feedback, Notification, OrgUnit, Role, RoleGrant, User

DEMO_PASSWORD = "demo12345"
DEMO_UNIT_PREFIX = "D"
DEMO_STAFF_PREFIX = "D"
DEMO_UNIT_CODE_RE = re.compile(r"^D\d{6}$")
DEMO_STAFF_NO_RE = re.compile(r"^D\d{7}$")
DEFAULT_SEED = 2026

# About one unit per 100 staff, but never fewer than a small city needs to look like one.
STAFF_PER_UNIT = 100
MIN_UNITS = 24
UNIT_BATCH = 500
PEOPLE_BATCH = 5000

Progress = Callable[[str], None]


# --- Names ------------------------------------------------------------------------------

CITY_NAME = "渝江市"

# Invented districts (区) and counties (县) of 渝江市; 区 first so the spine is a 区.
DISTRICTS = (
    "江城区", "临江区", "南屏区", "北岸区", "东湖区", "西山区", "龙泉区", "金桥区",
    "青云区", "白沙区", "凤鸣区", "石门区", "云岭区", "桃源区",
)
COUNTIES = ("松溪县", "梅岭县", "安平县", "永宁县", "清河县", "长乐县", "双峰县", "玉屏县")

CITY_DEPARTMENTS = (
    "市委办公室", "市政府办公室", "市委组织部", "市委宣传部", "市委党校",
    "市发展和改革委员会", "市教育委员会", "市科学技术局", "市经济和信息化委员会",
    "市公安局", "市民政局", "市司法局", "市财政局", "市人力资源和社会保障局",
    "市规划和自然资源局", "市生态环境局", "市住房和城乡建设委员会", "市城市管理局",
    "市交通局", "市水利局", "市农业农村委员会", "市商务委员会", "市文化和旅游发展委员会",
    "市卫生健康委员会", "市退役军人事务局", "市应急管理局", "市审计局",
    "市市场监督管理局", "市统计局", "市医疗保障局", "市档案馆", "市地方志办公室",
    "市机关事务管理局", "市信访办公室",
)

# Divisions (处 / 室) of a city department.
CITY_DIVISIONS = (
    "办公室", "组织人事处", "政策法规处", "规划财务处", "综合处", "督查室", "宣传教育处",
    "行政审批处", "科技信息处", "监督检查处", "安全监管处", "机关党委办公室",
    "离退休干部处", "审计处", "研究室", "信息中心",
)

# Departments of a district or county, named after it: 江城区 + 财政局 = 江城区财政局.
DISTRICT_DEPARTMENTS = (
    "档案馆", "委办公室", "政府办公室", "委组织部", "委宣传部", "委党校",
    "发展和改革委员会", "教育委员会", "财政局", "人力资源和社会保障局", "民政局", "司法局",
    "卫生健康委员会", "市场监督管理局", "城市管理局", "生态环境局", "统计局", "审计局",
    "应急管理局", "退役军人事务局", "住房和城乡建设委员会", "农业农村委员会",
    "文化和旅游发展委员会", "商务委员会", "规划和自然资源局", "交通局", "水利局",
    "科学技术局", "机关事务管理中心", "信访办公室",
)

# Sections (科 / 室 / 股) of a district department; an archive has its own.
SECTIONS = (
    "办公室", "综合科", "人事科", "财务科", "政策法规科", "计划科", "业务一科", "业务二科",
    "监督检查科", "行政审批科", "宣传教育科", "信息中心", "执法大队", "安全监管科",
)
ARCHIVE_SECTIONS = (
    "办公室", "档案接收征集科", "档案保管利用科", "编研科", "信息技术科", "监督指导科",
)

# Offices of a street (街道) or township (镇 / 乡).
STREET_OFFICES = (
    "党政办公室", "党建工作办公室", "经济发展办公室", "社会事务办公室", "平安建设办公室",
    "城市管理办公室", "便民服务中心", "综合行政执法大队", "财政所", "退役军人服务站",
)
TOWNSHIP_OFFICES = (
    "党政办公室", "党建工作办公室", "经济发展办公室", "社会事务办公室", "平安建设办公室",
    "村镇建设办公室", "便民服务中心", "综合行政执法大队", "财政所", "农业服务中心",
)

# Two-character place words for streets, townships, communities and villages.
PLACE_WORDS = (
    "朝阳", "新华", "解放", "人民", "和平", "东风", "民主", "胜利", "建设", "光明", "红旗",
    "长江", "滨江", "花园", "龙溪", "石桥", "杨柳", "柏树", "青山", "白鹤", "金竹", "银杏",
    "梨树", "双河", "三合", "五里", "七星", "九龙", "十里", "大田", "小溪", "高峰", "平安",
    "永丰", "兴隆", "太平", "长安", "福田", "桂花", "荷塘", "松林", "竹园", "枫林", "桃李",
    "杏坛", "翠湖", "碧水", "清水", "白云", "黄桷", "马鞍", "凤凰", "麒麟", "玉带", "锦绣",
    "文昌", "武陵", "宝山", "金山", "银河", "新桥", "老街", "南门", "北门", "东城", "西城",
    "上河", "下坝", "中和", "观音", "天星", "望江", "临溪", "沙坪", "石坪", "龙门", "虎溪",
    "鹿角", "鱼嘴", "鸡公", "铜锣", "回龙", "复兴", "团结", "先锋", "前进", "红岩", "江南",
    "河东", "城南",
)

# Surnames with their approximate share of the population (per mille), most frequent first.
SURNAMES = (
    ("王", 71.2), ("李", 70.1), ("张", 64.5), ("刘", 53.5), ("陈", 44.1), ("杨", 31.1),
    ("黄", 23.8), ("赵", 21.3), ("吴", 20.5), ("周", 19.2), ("徐", 16.0), ("孙", 15.1),
    ("马", 14.6), ("朱", 14.0), ("胡", 13.1), ("郭", 11.6), ("何", 11.3), ("林", 10.7),
    ("高", 10.4), ("罗", 9.9), ("郑", 8.8), ("梁", 8.3), ("谢", 8.0), ("宋", 7.2),
    ("唐", 7.2), ("许", 6.8), ("韩", 6.5), ("冯", 6.4), ("邓", 6.3), ("曹", 6.1),
    ("彭", 5.8), ("曾", 5.7), ("肖", 5.5), ("田", 5.2), ("董", 5.1), ("袁", 4.9),
    ("潘", 4.7), ("于", 4.7), ("蒋", 4.6), ("蔡", 4.5), ("余", 4.4), ("杜", 4.3),
    ("叶", 4.2), ("程", 4.1), ("苏", 4.0), ("魏", 3.9), ("吕", 3.8), ("丁", 3.7),
    ("任", 3.6), ("沈", 3.5), ("姚", 3.4), ("卢", 3.3), ("姜", 3.2), ("崔", 3.1),
    ("钟", 3.0), ("谭", 3.0), ("陆", 2.9), ("汪", 2.8), ("范", 2.8), ("金", 2.7),
    ("石", 2.7), ("廖", 2.6), ("贾", 2.6), ("夏", 2.5), ("韦", 2.5), ("付", 2.4),
    ("方", 2.4), ("白", 2.3), ("邹", 2.3), ("孟", 2.2), ("熊", 2.2), ("秦", 2.1),
    ("邱", 2.1), ("江", 2.0), ("尹", 2.0), ("薛", 1.9), ("闫", 1.9), ("段", 1.8),
    ("雷", 1.8), ("侯", 1.7), ("龙", 1.7), ("史", 1.6), ("陶", 1.6), ("黎", 1.5),
    ("贺", 1.5), ("顾", 1.4), ("毛", 1.4), ("郝", 1.3), ("龚", 1.3), ("邵", 1.2),
    ("万", 1.2), ("钱", 1.2), ("严", 1.1), ("覃", 1.1), ("武", 1.1), ("戴", 1.0),
    ("莫", 1.0), ("孔", 1.0), ("向", 1.0), ("汤", 0.9), ("欧阳", 0.3), ("上官", 0.1),
    ("司马", 0.1), ("诸葛", 0.1),
)
_SURNAME_CHOICES = tuple(s for s, _w in SURNAMES)
_SURNAME_CUM = tuple(itertools.accumulate(w for _s, w in SURNAMES))

GIVEN_MALE = (
    "伟", "强", "磊", "军", "勇", "杰", "涛", "斌", "超", "明", "刚", "平", "辉", "鹏", "华",
    "飞", "鑫", "波", "宇", "浩", "凯", "健", "俊", "帆", "旭", "宁", "龙", "林", "洋", "阳",
    "峰", "建", "国", "文", "志", "海", "东", "晨", "博", "轩", "哲", "昊", "睿", "翔", "毅",
    "诚", "亮", "忠", "德", "胜", "成", "荣", "彬", "昌", "坤", "松", "新", "永",
)
GIVEN_FEMALE = (
    "芳", "娜", "敏", "静", "丽", "艳", "娟", "霞", "秀", "英", "玲", "婷", "雪", "慧", "颖",
    "琳", "倩", "洁", "燕", "红", "梅", "莉", "蕾", "萍", "欣", "怡", "佳", "悦", "璐", "瑶",
    "晶", "琪", "妍", "茜", "雯", "露", "月", "青", "兰", "凤", "岚", "丹", "莹", "薇",
)
GIVEN_FIRST = ("子", "思", "雨", "一", "晓", "天", "嘉", "可", "心", "安", "春", "秋", "云",
               "小", "家", "世", "少", "立", "正", "玉", "新", "宏", "永", "明", "文")
_GIVEN_FIRST_MALE = GIVEN_FIRST + GIVEN_MALE
_GIVEN_FIRST_FEMALE = GIVEN_FIRST + GIVEN_FEMALE

# Fake but well-formed mobile prefixes (1xx); the other 8 digits are random.
PHONE_PREFIXES = (
    "130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152",
    "153", "155", "156", "157", "158", "159", "166", "173", "176", "177", "180", "181",
    "182", "183", "185", "186", "187", "188", "189", "191", "198", "199",
)

# Cadre levels the demo uses: (code, name, sort order). Matched on name first, so a level
# of the same name that an admin already created is reused, not duplicated.
CADRE_LEVELS = (
    ("bureau", "厅局级", 10),
    ("division", "处级", 20),
    ("section", "科级", 30),
    ("staff", "一般干部", 40),
)


# --- The unit tree -------------------------------------------------------------------------


@dataclass(frozen=True)
class UnitSpec:
    """One demo unit as the generator wants it: `parent` is an index into the spec list."""

    index: int
    code: str
    name: str
    kind: str
    parent: int | None
    sort_order: int
    staff_weight: float


# Internal kind → (`OrgUnit.kind` stored, how likely staff work there directly).
_KINDS: dict[str, tuple[str, float]] = {
    "city": ("city", 0.0),
    "district": ("district", 0.0),
    "county": ("county", 0.0),
    "city_department": ("department", 0.5),
    "division": ("section", 1.0),
    "district_department": ("department", 0.6),
    "section": ("section", 1.0),
    "street": ("street", 0.5),
    "township": ("township", 0.5),
    "office": ("office", 1.0),
    "community": ("community", 0.3),
}
# How fast each kind of parent gains children (per open parent of that kind).
_GROWTH = {
    "city": 3.0,
    "district": 1.2,
    "county": 1.2,
    "city_department": 0.5,
    "district_department": 0.5,
    "street": 0.5,
    "township": 0.5,
}


@dataclass
class _Node:
    """Generator state for a unit that may still get children: name pools per child kind."""

    index: int
    kind: str
    name: str
    pools: dict[str, list[str]] = field(default_factory=dict)
    children: int = 0

    def room(self) -> int:
        return sum(len(names) for names in self.pools.values())


def unit_count_for(staff: int) -> int:
    """How many units an organisation of `staff` people gets (≈ one per 100)."""
    return max(MIN_UNITS, -(-staff // STAFF_PER_UNIT))


def _pools_for(kind: str, name: str, rng: random.Random) -> dict[str, list[str]]:
    """The names a new unit's children may take, each pool shuffled and capped."""

    def pick(names: tuple[str, ...], low: int, high: int) -> list[str]:
        return rng.sample(names, k=min(len(names), rng.randint(low, high)))

    if kind == "city":
        return {
            "district": list(DISTRICTS) + list(COUNTIES),
            "city_department": list(CITY_DEPARTMENTS),
        }
    if kind in ("district", "county"):
        suffixes = rng.sample(DISTRICT_DEPARTMENTS, k=len(DISTRICT_DEPARTMENTS))
        departments = [name + suffix for suffix in suffixes]
        if kind == "district":
            places = pick(PLACE_WORDS, 8, 20)
            local = [p + ("镇" if rng.random() < 0.25 else "街道") for p in places]
        else:
            places = pick(PLACE_WORDS, 10, 22)
            local = [p + ("乡" if rng.random() < 0.2 else "镇") for p in places]
        return {"district_department": departments, "local": local}
    if kind == "city_department":
        return {"division": pick(CITY_DIVISIONS, 4, 10)}
    if kind == "district_department":
        sections = ARCHIVE_SECTIONS if name.endswith("档案馆") else SECTIONS
        return {"section": pick(sections, 3, 8)}
    if kind in ("street", "township"):
        offices = pick(STREET_OFFICES if kind == "street" else TOWNSHIP_OFFICES, 3, 7)
        suffix = "社区" if kind == "street" else "村"
        return {"office": offices, "community": [p + suffix for p in pick(PLACE_WORDS, 2, 10)]}
    return {}


def _child_kind(pool_key: str, name: str) -> str:
    if pool_key == "district":
        return "county" if name.endswith("县") else "district"
    if pool_key == "local":
        return "street" if name.endswith("街道") else "township"
    return pool_key


def iter_unit_specs(seed: int = DEFAULT_SEED) -> Iterator[UnitSpec]:
    """The demo units in growth order, until the name pools run out (≈ 8,000 units).

    Unit k depends only on the seed and on the units before it, so every prefix of this
    sequence is a complete, sensible tree: city → districts / counties / city departments →
    departments, streets, townships, divisions → sections, offices, communities. The first
    five units are a fixed spine (city, a district, its archive, a section of it, a street),
    so even the smallest organisation is four levels deep.
    """
    rng = random.Random(f"{seed}:units")
    specs: list[UnitSpec] = []
    open_nodes: dict[str, list[_Node]] = {kind: [] for kind in _GROWTH}

    def add(kind: str, name: str, parent: _Node | None) -> UnitSpec:
        stored_kind, weight = _KINDS[kind]
        if parent is not None:
            parent.children += 1
        spec = UnitSpec(
            index=len(specs),
            code=f"{DEMO_UNIT_PREFIX}{len(specs) + 1:06d}",
            name=name,
            kind=stored_kind,
            parent=None if parent is None else parent.index,
            sort_order=(parent.children if parent else 1) * 10,
            staff_weight=weight,
        )
        specs.append(spec)
        if kind in _GROWTH:
            node = _Node(index=spec.index, kind=kind, name=name, pools=_pools_for(kind, name, rng))
            open_nodes[kind].append(node)
        return spec

    def take(parent: _Node, pool_key: str, name: str | None = None) -> UnitSpec:
        pool = parent.pools[pool_key]
        name = pool.pop(pool.index(name) if name else 0)
        spec = add(_child_kind(pool_key, name), name, parent)
        if parent.room() == 0:
            open_nodes[parent.kind].remove(parent)
        return spec

    # The spine: 渝江市 / 江城区 / 江城区档案馆 / <a section> and 江城区 / <a street>.
    yield add("city", CITY_NAME, None)
    city = open_nodes["city"][0]
    yield take(city, "district", DISTRICTS[0])
    district = open_nodes["district"][0]
    yield take(district, "district_department", DISTRICTS[0] + "档案馆")
    archive = open_nodes["district_department"][0]
    yield take(archive, "section")
    yield take(district, "local")

    kinds = list(_GROWTH)
    while True:
        weights = [_GROWTH[k] * len(open_nodes[k]) for k in kinds]
        if not any(weights):
            return
        kind = rng.choices(kinds, weights=weights)[0]
        candidates = open_nodes[kind]
        # Two random candidates, the one with fewer children grows: keeps siblings balanced.
        first, second = rng.choice(candidates), rng.choice(candidates)
        parent = first if first.children <= second.children else second
        keys = [k for k, names in parent.pools.items() if names]
        key = rng.choices(keys, weights=[len(parent.pools[k]) for k in keys])[0]
        yield take(parent, key)


def unit_specs(count: int, *, seed: int = DEFAULT_SEED) -> list[UnitSpec]:
    """The first `count` demo units (fewer if the name pools run out)."""
    return list(itertools.islice(iter_unit_specs(seed), count))


# --- People ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PersonSpec:
    """One demo staff member; `unit` is an index into the unit spec list."""

    employee_no: str
    name: str
    gender: str
    birth_date: dt.date
    phone: str
    email: str
    cadre_level: str  # a code of CADRE_LEVELS
    is_active: bool
    unit: int


def staff_employee_no(index: int) -> str:
    return f"{DEMO_STAFF_PREFIX}{index + 1:07d}"


class PersonGenerator:
    """Makes demo person *i* from (seed, i) alone, so growing N never changes anyone."""

    def __init__(self, specs: list[UnitSpec], *, seed: int, reference_year: int) -> None:
        self.seed = seed
        self.reference_year = reference_year
        self.unit_count = len(specs)
        self.unit_cum = list(itertools.accumulate(s.staff_weight for s in specs))
        self.rng = random.Random()

    def person(self, index: int) -> PersonSpec:
        rng = self.rng
        rng.seed(f"{self.seed}:person:{index}")
        gender = "M" if rng.random() < 0.55 else "F"
        given_pool = GIVEN_MALE if gender == "M" else GIVEN_FEMALE
        first_pool = _GIVEN_FIRST_MALE if gender == "M" else _GIVEN_FIRST_FEMALE
        surname = rng.choices(_SURNAME_CHOICES, cum_weights=_SURNAME_CUM)[0]
        if rng.random() < 0.25:
            given = rng.choice(given_pool)
        else:
            given = rng.choice(first_pool) + rng.choice(given_pool)
        age = rng.randint(22, 59)
        birth_date = dt.date(self.reference_year - age - 1, 1, 1) + dt.timedelta(
            days=rng.randrange(365)
        )
        phone = rng.choice(PHONE_PREFIXES) + f"{rng.randrange(10**8):08d}"
        employee_no = staff_employee_no(index)
        email = f"{employee_no.lower()}@example.gov.cn" if rng.random() < 0.4 else ""
        roll = rng.random()
        if age >= 45 and roll < 0.004:
            level = "bureau"
        elif age >= 35 and roll < 0.08:
            level = "division"
        elif age >= 27 and roll < 0.32:
            level = "section"
        else:
            level = "staff"
        is_active = rng.random() >= 0.02
        # Person i works in one of the units that exist for an organisation of i + 1 (so
        # growing N never moves anyone). Half of the people go to the newer half of those
        # units, so units added as the organisation grows fill up too.
        visible = min(unit_count_for(index + 1), self.unit_count)
        first = visible // 2 if rng.random() < 0.5 else 0
        below = self.unit_cum[first - 1] if first else 0.0
        if self.unit_cum[visible - 1] == below:  # nobody works in the newer half
            first, below = 0, 0.0
        point = below + rng.random() * (self.unit_cum[visible - 1] - below)
        unit = bisect.bisect_right(self.unit_cum, point, first, visible - 1)
        return PersonSpec(
            employee_no=employee_no,
            name=surname + given,
            gender=gender,
            birth_date=birth_date,
            phone=phone,
            email=email,
            cadre_level=level,
            is_active=is_active,
            unit=unit,
        )


# --- The demo logins -------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoAccount:
    """A fixed demo login: where the person works and which right they hold on which unit."""

    employee_no: str
    name: str
    role_label: str | Promise
    unit: int  # index into the unit specs
    role: str | None = None
    grant_unit: int | None = None
    superuser: bool = False


DEMO_ACCOUNTS = (
    # Translators: role names in the seed_demo login table.
    DemoAccount("demo-learner", "林晓雨", _("learner"), unit=3),
    DemoAccount("demo-admin", "周建国", _("unit admin"), unit=2, role=Role.UNIT_ADMIN, grant_unit=1),
    DemoAccount("demo-manager", "吴敏", _("manager"), unit=0, role=Role.MANAGER, grant_unit=0),
    DemoAccount(
        "demo-teacher", "郑丽华", _("class teacher"), unit=2, role=Role.CLASS_TEACHER, grant_unit=2
    ),
    DemoAccount("demo-sysadmin", "孙浩", _("system admin"), unit=0, superuser=True),
)
DEMO_ACCOUNT_NOS = frozenset(a.employee_no for a in DEMO_ACCOUNTS)


@dataclass(frozen=True)
class DemoLogin:
    """A row of the table printed at the end: who to log in as, and what they will see."""

    employee_no: str
    password: str
    name: str
    role: str
    unit: str
    scope: str


# --- Building ---------------------------------------------------------------------------------


@dataclass
class DemoSummary:
    units: int = 0
    units_created: int = 0
    staff: int = 0
    staff_created: int = 0
    accounts_created: int = 0
    units_differing: int = 0


def demo_staff() -> QuerySet[User]:
    """People the demo created as staff (employee numbers D0000001 …)."""
    return User.objects.filter(employee_no__regex=DEMO_STAFF_NO_RE.pattern)


def demo_units() -> QuerySet[OrgUnit]:
    """Units the demo created (codes D000001 …)."""
    return OrgUnit.objects.filter(code__regex=DEMO_UNIT_CODE_RE.pattern)


def _noop(_message: str) -> None:
    pass


def cadre_levels_ensure() -> dict[str, int]:
    """The demo's cadre levels by code → id, creating those that are missing."""
    ids: dict[str, int] = {}
    for code, name, sort_order in CADRE_LEVELS:
        level = (
            CadreLevel.objects.filter(name=name).first()
            or CadreLevel.objects.filter(code=code).first()
        )
        if level is None:
            level = services.cadre_level_save(code=code, name=name, sort_order=sort_order)
        ids[code] = level.pk
    return ids


@transaction.atomic
def demo_units_build(
    specs: list[UnitSpec], *, progress: Progress = _noop
) -> tuple[int, int, dict[str, int]]:
    """Create the units of `specs` that do not exist yet; return (created, differing, code → id).

    Paths are computed here rather than through treebeard's `add_child` (one query per
    unit, plus sibling shifts when `node_order_by` sorts): a new unit is appended after
    the last existing child of its parent, and each parent's `numchild` grows by the
    number of children added. Units already present (by code) are never changed; those
    whose name no longer matches the spec are counted as `differing`.
    """
    existing = {
        code: (pk, path, name)
        for code, pk, path, name in OrgUnit.objects.filter(
            code__startswith=DEMO_UNIT_PREFIX
        ).values_list("code", "pk", "path", "name")
    }
    missing = [s for s in specs if s.code not in existing]
    differing = sum(1 for s in specs if s.code in existing and existing[s.code][2] != s.name)
    if not missing:
        return 0, differing, {code: row[0] for code, row in existing.items()}

    steplen = OrgUnit.steplen
    last_step: dict[str, int] = {}  # parent path ("" for roots) → highest child step in use
    existing_paths: set[str] = set()
    for path in OrgUnit.objects.values_list("path", flat=True).iterator(chunk_size=5000):
        parent_path, step = path[:-steplen], OrgUnit._str2int(path[-steplen:])
        last_step[parent_path] = max(last_step.get(parent_path, 0), step)
        existing_paths.add(path)

    paths = {code: row[1] for code, row in existing.items()}
    added_under: dict[str, int] = {}
    new_units: list[OrgUnit] = []
    for spec in missing:
        parent_path = "" if spec.parent is None else paths[specs[spec.parent].code]
        step = last_step.get(parent_path, 0) + 1
        last_step[parent_path] = step
        path = OrgUnit._get_path(parent_path, len(parent_path) // steplen + 1, step)
        paths[spec.code] = path
        added_under[parent_path] = added_under.get(parent_path, 0) + 1
        new_units.append(
            OrgUnit(
                code=spec.code,
                name=spec.name,
                kind=spec.kind,
                sort_order=spec.sort_order,
                path=path,
                depth=len(path) // steplen,
                numchild=0,
            )
        )
    for unit in new_units:
        unit.numchild = added_under.get(unit.path, 0)
    for start in range(0, len(new_units), UNIT_BATCH):
        OrgUnit.objects.bulk_create(new_units[start : start + UNIT_BATCH])
        progress(f"units: {min(start + UNIT_BATCH, len(new_units))}/{len(new_units)}")
    # Parents that existed before this run: add their new children to numchild.
    for parent_path, added in added_under.items():
        if parent_path in existing_paths:
            OrgUnit.objects.filter(path=parent_path).update(numchild=F("numchild") + added)
    ids = dict(
        OrgUnit.objects.filter(code__startswith=DEMO_UNIT_PREFIX).values_list("code", "pk")
    )
    return len(new_units), differing, ids


def demo_staff_build(
    *,
    staff: int,
    seed: int,
    specs: list[UnitSpec],
    unit_ids: dict[str, int],
    level_ids: dict[str, int],
    password_hash: Callable[[], str],
    progress: Progress = _noop,
) -> int:
    """Create demo staff 0 … staff-1 that do not exist yet; return how many were created.

    Each batch is its own transaction, so an interrupted run resumes where it stopped.
    """
    taken = set(
        User.objects.filter(employee_no__startswith=DEMO_STAFF_PREFIX).values_list(
            "employee_no", flat=True
        )
    )
    generator = PersonGenerator(specs, seed=seed, reference_year=timezone.localdate().year)
    now = timezone.now()
    batch: list[User] = []
    created = 0

    def flush() -> None:
        nonlocal created
        with transaction.atomic():
            User.objects.bulk_create(batch)
        created += len(batch)
        progress(f"people: {created} created")
        batch.clear()

    for index in range(staff):
        if staff_employee_no(index) in taken:
            continue
        person = generator.person(index)
        batch.append(
            User(
                employee_no=person.employee_no,
                name=person.name,
                unit_id=unit_ids[specs[person.unit].code],
                cadre_level_id=level_ids[person.cadre_level],
                gender=person.gender,
                birth_date=person.birth_date,
                phone=person.phone,
                email=person.email,
                is_active=person.is_active,
                password=password_hash(),
                date_joined=now,
            )
        )
        if len(batch) >= PEOPLE_BATCH:
            flush()
    if batch:
        flush()
    return created


@transaction.atomic
def demo_accounts_ensure(
    *,
    specs: list[UnitSpec],
    unit_ids: dict[str, int],
    level_ids: dict[str, int],
    password_hash: Callable[[], str],
) -> int:
    """Create the missing demo logins and their grants; existing logins are left alone."""
    created = 0
    for account in DEMO_ACCOUNTS:
        user = User.objects.filter(employee_no=account.employee_no).first()
        if user is None:
            user = User.objects.create(
                employee_no=account.employee_no,
                name=account.name,
                unit_id=unit_ids[specs[account.unit].code],
                cadre_level_id=level_ids["section" if account.role else "staff"],
                password=password_hash(),
                is_staff=account.superuser,
                is_superuser=account.superuser,
            )
            created += 1
        if account.role and account.grant_unit is not None:
            unit = OrgUnit.objects.get(pk=unit_ids[specs[account.grant_unit].code])
            if user.is_active:  # granting is idempotent: an existing grant is returned
                services.role_grant_create(user=user, unit=unit, role=account.role)
    return created


# Inbox and feedback box content, so the bell and 意见建议 show something on first login.
DEMO_NOTICES = (
    ("demo-learner", "欢迎使用渝江市干部网络学习平台",
     "在这里可以学习网上课程、报名参加下午微课堂、查看本人学分和年度完成情况。"),
    ("demo-learner", "下午微课堂：业务专家谈业务（本周四 16:30）",
     "本期由江城区档案馆业务骨干主讲《档案数字化工作实务》，地点：三楼会议室。"),
    ("demo-learner", "请填报年度选学菜单",
     "请于本月底前在“课程申报”中填写您希望学习的内容和能够讲授的课程。"),
    ("demo-admin", "请审核本月下午微课堂课程申报",
     "本月共有 3 份课程申报待审核，请在“教学计划”中处理。"),
    ("demo-manager", "季度学习情况报告已可下载",
     "上季度各单位学习情况报告已生成，可在“报表”中下载。"),
)
# (author: a demo login or the n-th demo staff member of the spine district, kind,
#  subject, body, the demo admin's reply or "" to leave it open)
DEMO_FEEDBACK = (
    ("demo-learner", Feedback.Kind.SUGGESTION, "建议下午微课堂提供录播回放",
     "部分同志因值班无法到场听课，建议对下午微课堂进行录播，并在平台上提供回放，方便大家补学。",
     "感谢您的建议。从下月起，下午微课堂将在征得主讲人同意后录播，课后三个工作日内上传平台。"),
    (0, Feedback.Kind.QUESTION, "外出培训的学时如何折算学分？",
     "参加上级部门组织的脱产培训，学时能否折算为本平台学分？需要提交哪些材料？",
     "可以。请在培训结束后向本单位管理员提交结业证书或培训通知复印件，经审核后登记学分。"),
    (1, Feedback.Kind.COMPLAINT, "手机上观看课程视频经常卡顿",
     "在单位内网用手机观看课程视频时经常卡顿，希望能优化。", ""),
)


def demo_inbox_and_feedback_ensure(*, specs: list[UnitSpec], unit_ids: dict[str, int]) -> None:
    """A few notices and feedback items (some answered); each is added only once."""
    accounts = {u.employee_no: u for u in User.objects.filter(employee_no__in=DEMO_ACCOUNT_NOS)}
    for employee_no, title, body in DEMO_NOTICES:
        recipient = accounts.get(employee_no)
        if recipient and not Notification.objects.filter(recipient=recipient, title=title).exists():
            services.notification_send(recipients=[recipient], title=title, body=body, kind="demo")

    district_path = OrgUnit.objects.get(pk=unit_ids[specs[1].code]).path
    colleagues = list(
        demo_staff()
        .filter(is_active=True, unit__path__startswith=district_path)
        .order_by("employee_no")[:2]
    )
    admin = accounts.get("demo-admin")
    for author_key, kind, subject, body, reply in DEMO_FEEDBACK:
        if isinstance(author_key, int):
            author = colleagues[author_key] if author_key < len(colleagues) else None
        else:
            author = accounts.get(author_key)
        if author is None or not author.is_active or author.unit_id is None:
            continue
        feedback = Feedback.objects.filter(author=author, subject=subject).first()
        if feedback is None:
            feedback = services.feedback_submit(
                author=author, kind=kind, subject=subject, body=body
            )
        if (
            reply
            and feedback.status == Feedback.Status.OPEN
            and admin is not None
            and selectors.can_manage_unit(admin, feedback.unit)
        ):
            services.feedback_reply(feedback=feedback, actor=admin, reply=reply)


def demo_organisation_build(
    *, staff: int, seed: int = DEFAULT_SEED, progress: Progress = _noop
) -> DemoSummary:
    """Build (or grow) the demo organisation for `staff` people; idempotent."""
    specs = unit_specs(unit_count_for(staff), seed=seed)
    units_created, differing, unit_ids = demo_units_build(specs, progress=progress)
    level_ids = cadre_levels_ensure()
    # One hash for everybody: hashing per person would take hours at 200,000 people. It is
    # computed on first use, so a run that adds nobody does not pay for PBKDF2 at all.
    password_hash = functools.cache(functools.partial(make_password, DEMO_PASSWORD))
    staff_created = demo_staff_build(
        staff=staff,
        seed=seed,
        specs=specs,
        unit_ids=unit_ids,
        level_ids=level_ids,
        password_hash=password_hash,
        progress=progress,
    )
    accounts_created = demo_accounts_ensure(
        specs=specs, unit_ids=unit_ids, level_ids=level_ids, password_hash=password_hash
    )
    demo_inbox_and_feedback_ensure(specs=specs, unit_ids=unit_ids)
    return DemoSummary(
        units=len(specs),
        units_created=units_created,
        staff=demo_staff().count(),
        staff_created=staff_created,
        accounts_created=accounts_created,
        units_differing=differing,
    )


def app_seeders_run(
    *, staff_count: int, seed: int, stdout: TextIO, progress: Progress = _noop
) -> None:
    """Call every `settings.DEMO_SEEDERS` entry in order, each with its own seeded rng.

    Deriving each rng from the seeder's dotted path means adding a seeder never changes
    what the others build.
    """
    for path in settings.DEMO_SEEDERS:
        progress(f"seeding {path}")
        seeder = import_string(path)
        seeder(staff_count=staff_count, rng=random.Random(f"{seed}:{path}"), stdout=stdout)


def demo_logins() -> list[DemoLogin]:
    """The demo logins as they are now in the database, for the table printed at the end."""
    users = {
        u.employee_no: u
        for u in User.objects.filter(employee_no__in=DEMO_ACCOUNT_NOS).select_related("unit")
    }
    rows = []
    for account in DEMO_ACCOUNTS:
        user = users.get(account.employee_no)
        if user is None:
            continue
        grants = RoleGrant.objects.filter(user=user).select_related("unit").order_by("unit__path")
        scope = "; ".join(selectors.unit_full_name(g.unit) for g in grants)
        rows.append(
            DemoLogin(
                employee_no=user.employee_no,
                password=DEMO_PASSWORD,
                name=user.name,
                role=str(account.role_label),
                unit=selectors.unit_full_name(user.unit) if user.unit_id else "",
                scope=scope or (str(_("everything")) if user.is_superuser else ""),
            )
        )
    return rows
