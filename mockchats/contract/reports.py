"""What a contract run found, shown three ways: a table, JSON, JUnit XML."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable

from .run import FAIL, PASS, SKIP, RunResult


def print_table(result: RunResult, echo: Callable[[str], None] = print) -> None:
    """One table per operation (case, expected, got, verdict), violations under their case; the
    operations of both APIs in the order the run first reached them."""
    echo(f"Contract check of {result.base_url} against {' and '.join(result.documents)}")
    width = max(len(case.name) for case in result.cases) + 2
    for operation_id, cases in result.by_operation().items():
        echo("")
        echo(f"{operation_id}")
        echo(f"  {'case':<{width}}{'expected':<10}{'got':<6}verdict")
        for case in cases:
            got = "-" if case.got is None else str(case.got)
            echo(f"  {case.name:<{width}}{case.expected:<10}{got:<6}{case.verdict}"
                 + (f"  ({case.skip_reason})" if case.skip_reason else ""))
            if case.verdict == FAIL:
                echo(f"      {case.request}")
                for violation in case.violations:
                    echo(f"      - {violation}")
    echo("")
    for note in result.notes:
        echo(f"note: {note}")
    for leftover in result.leftovers:
        echo(f"left behind: {leftover}")
    summary = (f"{len(result.cases)} cases: {result.count(PASS)} passed, {result.count(FAIL)} failed, "
               f"{result.count(SKIP)} skipped")
    failed_ops = list(dict.fromkeys(case.operation_id for case in result.failed))
    echo(summary + (f"; contract violated by {', '.join(failed_ops)}" if failed_ops else "; contract kept"))


def json_report(result: RunResult) -> dict:
    """The run as a JSON document: a summary, then every case."""
    return {
        "baseUrl": result.base_url,
        "passed": not result.failed,
        "summary": {"cases": len(result.cases), "passed": result.count(PASS),
                    "failed": result.count(FAIL), "skipped": result.count(SKIP)},
        "cases": [{
            "operationId": case.operation_id, "case": case.name, "request": case.request,
            "expected": case.expected, "got": case.got, "verdict": case.verdict,
            "violations": case.violations, "skipReason": case.skip_reason,
            "durationMs": round(case.duration_ms, 3),
        } for case in result.cases],
        "notes": result.notes,
        "leftovers": result.leftovers,
    }


def junit_xml(result: RunResult) -> str:
    """The run as JUnit XML: one testsuite per operation, one testcase per case."""
    root = ET.Element("testsuites", name="mockchats contract", tests=str(len(result.cases)),
                      failures=str(result.count(FAIL)), skipped=str(result.count(SKIP)),
                      time=f"{sum(c.duration_ms for c in result.cases) / 1000:.3f}")
    for operation_id, cases in result.by_operation().items():
        suite = ET.SubElement(root, "testsuite", name=operation_id, tests=str(len(cases)),
                              failures=str(sum(c.verdict == FAIL for c in cases)), errors="0",
                              skipped=str(sum(c.verdict == SKIP for c in cases)),
                              time=f"{sum(c.duration_ms for c in cases) / 1000:.3f}")
        for case in cases:
            element = ET.SubElement(suite, "testcase", classname=f"contract.{operation_id}", name=case.name,
                                    time=f"{case.duration_ms / 1000:.3f}")
            if case.verdict == FAIL:
                failure = ET.SubElement(element, "failure", message=case.violations[0], type="ContractViolation")
                failure.text = "\n".join([case.request, *case.violations])
            elif case.verdict == SKIP:
                ET.SubElement(element, "skipped", message=case.skip_reason or "skipped")
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
