"""Layout rules mean the same in the browser as on the server: each expression is
evaluated by the record service's evaluator (Python) and by the web app's rules.js
(under Node, the same module the browser loads), on the same records, and the answers
must agree. Nulls included: a missing value makes a comparison unknown, and a rule
that is not true does not show its field."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest

from metadata.expressions.portable import check_rule, tree
from metadata.model import build_model
from metadata.packs.catalog import Catalog
from runtime.expressions.evaluate import Caller, Scope, evaluate

RULES_JS = Path(__file__).parents[2] / "runtime" / "server" / "static" / "app" / "rules.js"

EXPRESSIONS = [
    "stage = 'lost'",
    "stage != 'lost' AND stage != 'won'",
    "stage = 'lost' OR ISMEMBER('sales_rep')",
    "NOT ISBLANK(lost_reason)",
    "probability >= 50 AND amount > 1000",
    "probability * 2 > 100 OR amount / 2 < 10",
    "IF(ISBLANK(name), FALSE, LEN(name) > 3)",
    "CONTAINS(name, '华信') OR BEGINS(name, 'MES')",
    "ROLE() = 'sales_manager'",
    "BLANKVALUE(lost_reason, 'none') = 'none'",
    "NOT (stage = 'won')",
    "TRIM(name) & '!' = 'MES 二期!'",
    "close_date < TODAY()",
]

# The same records as the database holds them (Python) and as the data API gives them
# (the browser).
RECORDS = [
    (
        {
            "name": "华信 MES 二期",
            "stage": "lost",
            "probability": Decimal("70"),
            "amount": Decimal("1260000"),
            "lost_reason": "价格",
            "close_date": dt.date(2020, 1, 1),
        },
        {
            "name": "华信 MES 二期",
            "stage": "lost",
            "probability": "70.00",
            "amount": {"amount": "1260000.00", "currencyCode": "CNY"},
            "lost_reason": "价格",
            "close_date": "2020-01-01",
        },
    ),
    (
        {
            "name": " MES 二期",
            "stage": "won",
            "probability": Decimal("40"),
            "amount": Decimal("8"),
            "lost_reason": None,
            "close_date": dt.date(2099, 1, 1),
        },
        {
            "name": " MES 二期",
            "stage": "won",
            "probability": "40.00",
            "amount": {"amount": "8.00", "currencyCode": "CNY"},
            "lost_reason": None,
            "close_date": "2099-01-01",
        },
    ),
    ({}, {}),  # nothing filled in yet: a new record's form
]
ROLES = [("sales_rep", ["sales_rep"]), ("sales_manager", ["sales_manager", "sales_rep"])]


def node() -> str:
    found = shutil.which("node")
    if not found:
        if os.environ.get("CI"):
            pytest.fail("CI must check the browser's rules: Node is not installed")
        pytest.skip("Node is not installed")
    return found


def test_rules_mean_the_same_in_the_browser_and_on_the_server():
    model = build_model(Catalog().load("core_crm").compose())
    cases, expected = [], []
    for text in EXPRESSIONS:
        typed = check_rule(text, model, "opportunity")
        for stored, shown in RECORDS:
            for role, roles in ROLES:
                caller = Caller("u", facts=lambda role=role, roles=roles: (role, frozenset(roles)))
                scope = Scope(record=stored, today=dt.date.today(), caller=caller)
                expected.append(evaluate(typed, scope))
                cases.append(
                    {"tree": tree(typed), "values": shown, "me": {"role": role, "roles": roles}}
                )
    script = (
        f"import {{ evaluate }} from {json.dumps(RULES_JS.as_uri())};\n"
        "const cases = JSON.parse(process.argv[1]);\n"
        "console.log(JSON.stringify(cases.map((c) => evaluate(c.tree, c.values, c.me))));\n"
    )
    out = subprocess.run(
        [node(), "--input-type=module", "-e", script, json.dumps(cases)],
        capture_output=True,
        text=True,
        check=True,
    )
    answers = json.loads(out.stdout)
    mismatches = [
        (
            EXPRESSIONS[i // (len(RECORDS) * len(ROLES))],
            cases[i]["values"],
            cases[i]["me"]["role"],
            want,
            got,
        )
        for i, (want, got) in enumerate(zip(expected, answers, strict=True))
        if want != got
    ]
    assert mismatches == []
    assert True in answers and False in answers and None in answers  # every outcome occurs
