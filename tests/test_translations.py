"""The UI speaks Simplified Chinese by default and English on request.

Compiled catalogues are committed (a fresh machine has no gettext), so the tests check
that each .mo matches its .po and that the Chinese catalogue has no untranslated entry.
"""

from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.test import Client

from tests.factories import OrgUnitFactory, UserFactory

LOCALE = Path(settings.BASE_DIR) / "locale"


def test_chinese_catalogue_is_complete():
    po = polib.pofile(str(LOCALE / "zh_Hans/LC_MESSAGES/django.po"))
    missing = [e.msgid for e in po if not e.obsolete and not e.translated()]
    assert missing == []
    assert [e.msgid for e in po.fuzzy_entries()] == []


@pytest.mark.parametrize("lang", ["zh_Hans", "en"])
def test_compiled_catalogue_matches_its_source(lang):
    po = polib.pofile(str(LOCALE / lang / "LC_MESSAGES/django.po"))
    mo = polib.mofile(str(LOCALE / lang / "LC_MESSAGES/django.mo"))
    compiled = {(e.msgctxt, e.msgid): (e.msgstr, e.msgstr_plural) for e in mo}
    source = {
        (e.msgctxt, e.msgid): (e.msgstr, e.msgstr_plural)
        for e in po.translated_entries()
    }
    assert compiled == {k: v for k, v in source.items()}


def test_the_portal_speaks_chinese_by_default_in_beijing_time():
    from learning_portal import settings as portal_settings

    assert portal_settings.LANGUAGE_CODE == "zh-hans"
    assert portal_settings.TIME_ZONE == "Asia/Shanghai" and portal_settings.USE_TZ


@pytest.mark.zh
@pytest.mark.django_db
def test_home_page_is_chinese_by_default_and_english_on_request():
    person = UserFactory(name="张伟", unit=OrgUnitFactory(name="档案局"))
    client = Client()
    client.force_login(person)

    chinese = client.get("/").content.decode()
    assert '<html lang="zh-hans">' in chinese
    assert "欢迎" in chinese and "档案局" in chinese

    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    english = client.get("/").content.decode()
    assert '<html lang="en">' in english
    assert "Welcome, 张伟" in english
