"""Checks PromQL text against docs/metrics.md: every lstmad_* metric it names
is a documented family (histogram suffixes allowed), every label it selects
on is one of the family's labels (or job, instance, le), and `reason` and
`result` values are documented ones.
"""
import re

from deploy_support import contract_metrics

TARGET_LABELS = {"job", "instance"}
LABEL_VALUES = {
    "reason": {"parse_error", "unknown_measurement", "missing_field", "non_finite", "too_many_streams",
               "line_too_long", "out_of_range"},
    "result": {"success", "failure",  # lstmad_config_reloads_total
               "swapped", "rejected", "skipped", "failed", "discarded"},  # lstmad_model_retrains_total
}
SELECTOR = re.compile(r"\b(lstmad_[a-z0-9_]+)\s*\{([^}]*)\}")
MATCHER = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"')


def family(name):
    """(documented family, is a histogram series) of a series name, or (None, False)."""
    contract = contract_metrics()
    if name in contract:
        return name, False
    for suffix in ("_bucket", "_sum", "_count"):
        base = name[: -len(suffix)]
        if name.endswith(suffix) and base in contract:
            return base, suffix == "_bucket"
    return None, False


def problems(expr):
    """What in `expr` does not match docs/metrics.md: a list of strings."""
    out = []
    for name in set(re.findall(r"\blstmad_[a-z0-9_]+", expr)):
        if family(name)[0] is None:
            out.append(f"{name} is not in docs/metrics.md")
    for name, body in SELECTOR.findall(expr):
        base, bucket = family(name)
        if base is None:
            continue
        allowed = set(contract_metrics()[base]) | TARGET_LABELS | ({"le"} if bucket else set())
        for label, op, value in MATCHER.findall(body):
            if label not in allowed:
                out.append(f"{name} has no label {label!r}")
            elif label in LABEL_VALUES and op == "=" and value not in LABEL_VALUES[label]:
                out.append(f"{name}: {label}={value!r} is not a documented value")
    return out
