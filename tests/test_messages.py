"""Keyed messages: the library's errors render in Chinese by lookup, the JSON API keeps
its English text, and the planner page shows its errors in the page's language."""

from __future__ import annotations

import html
import re
import string

import pytest

from locator.errors import InvalidParameter
from locator.messages import MESSAGES, Message, translated
from locator.model import validate_facility
from locator.params import parse_float, parse_int
from locator.planning import parse_coverage_params
from tests.web_fixtures import loaded_database

HAN = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def url(tmp_path_factory):
    url, cleanup = loaded_database("sqlite", tmp_path_factory.mktemp("messages"))
    yield url
    cleanup()


def _fields(template) -> set[str]:
    if callable(template):
        return set()
    return {name.split("!")[0] for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("key", sorted(MESSAGES))
def test_every_message_has_both_languages_with_the_same_parameters(key):
    entry = MESSAGES[key]
    assert set(entry) == {"zh", "en"}
    zh_fields = {f.removesuffix("_zh") for f in _fields(entry["zh"])}
    assert zh_fields == _fields(entry["en"]) or callable(entry["en"])
    if not callable(entry["zh"]):
        assert HAN.search(entry["zh"]) or key == "prefixed", f"{key}: no Chinese in zh"
        assert entry["zh"] != entry["en"]


def test_a_message_is_its_english_text_and_translates_by_key():
    message = Message("number_between", name="lat", low=-90, high=90)
    assert message == "lat must be between -90 and 90"
    assert message.translated("zh") == "lat 必须在 -90 到 90 之间"
    assert message.translated("en") == message
    assert translated("plain text", "zh") == "plain text"


def test_nested_messages_render_in_the_outer_language():
    inner = Message("not_number", name="lon", got="x")
    outer = Message("prefixed", name="bbox", inner=inner)
    assert outer == "bbox: lon must be a number, got 'x'"
    assert outer.translated("zh") == "bbox：lon 必须是数字，实际为 'x'"


def test_unknown_key_is_refused():
    with pytest.raises(KeyError):
        Message("no such message")


@pytest.mark.parametrize(
    ("call", "english", "chinese"),
    [
        (
            lambda: parse_float({"radius_km": "abc"}, "radius_km", 5.0, 0, 100),
            "radius_km must be a number, got 'abc'",
            "radius_km 必须是数字，实际为 'abc'",
        ),
        (
            lambda: parse_int({"sites": "99"}, "sites", 5, 0, 50),
            "sites must be between 0 and 50",
            "sites 必须在 0 到 50 之间",
        ),
        (
            lambda: parse_coverage_params({"weight": "cars"}),
            "weight must be one of population, transport_workers",
            "weight 必须是以下之一：population, transport_workers",
        ),
        (
            lambda: validate_facility({"lon": 117.2, "lat": 31.8, "name": "x", "kind": "司机之加"}),
            None,
            "无法识别的类型“司机之加”，是否应为“司机之家”(driver_home)？",
        ),
        (
            lambda: validate_facility({"lon": 117.2, "lat": 95, "name": "x", "kind": "other"}),
            "lat must be between -90 and 90",
            "lat 必须在 -90 到 90 之间",
        ),
    ],
)
def test_library_errors_carry_both_languages(call, english, chinese):
    with pytest.raises(InvalidParameter) as caught:
        call()
    if english is not None:
        assert caught.value.message == english
    assert caught.value.message_in("zh").startswith(chinese)
    assert caught.value.message_in("en") == caught.value.message


BAD_PAGE_PARAMS = [
    ({"radius_km": "abc"}, "radius_km 必须是数字", "radius_km must be a number"),
    ({"radius_km": "0"}, "radius_km 必须大于 0", "radius_km must be above 0"),
    ({"weight": "cars"}, "weight 必须是以下之一", "weight must be one of"),
    ({"city": "不存在市"}, "找不到城市“不存在市”", "unknown city '不存在市'"),
    ({"city": "合肥市", "county": "埇桥区"}, "不属于“合肥市”", "is not in city '合肥市'"),
    ({"freq": "hourly"}, "freq 必须是以下之一", "freq must be one of"),
    ({"sites": "lots"}, "sites 必须是整数", "sites must be a whole number"),
    ({"kind": "司机之加"}, "无法识别的类型“司机之加”", "unknown kind '司机之加'"),
    ({"view": "x"}, "view 必须是以下之一", "view must be one of"),
]


@pytest.mark.parametrize(("params", "chinese", "english"), BAD_PAGE_PARAMS)
def test_planner_page_errors_are_in_the_page_language(client, params, chinese, english):
    zh = client.get("/coverage", query_string={**params, "lang": "zh"})
    assert zh.status_code == 400
    text = html.unescape(zh.get_data(as_text=True))
    assert chinese in text
    assert english not in text
    en = client.get("/coverage", query_string={**params, "lang": "en"})
    assert en.status_code == 400
    text = html.unescape(en.get_data(as_text=True))
    assert english in text
    assert chinese not in text


def test_api_errors_keep_their_english_text(client):
    answer = client.get(
        "/api/v1/townships", query_string={"radius_km": "abc"}, headers={"Cookie": "lang=zh"}
    )
    assert answer.status_code == 400
    assert answer.get_json() == {
        "error": {
            "code": "invalid_parameter",
            "message": "radius_km must be a number, got 'abc'",
            "field": "radius_km",
        }
    }
