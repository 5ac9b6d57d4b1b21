"""ASP.NET Core's habits, free of I/O: what the real service's framework says and how.

The real service runs on ASP.NET Core (.NET 8, [ApiController], System.Text.Json, JwtBearer,
Kestrel). Its clients meet the framework's routing, model binding, problem details, formats and
message templates; this package reproduces them and knows nothing of the mock around it (it
imports no other part of mockchats), so each behaviour can be read and tested on its own.

- :mod:`.habits`: problem details, JSON writing, .NET formats and message templates;
- :mod:`.routing`: Kestrel's path rules and the endpoint route table;
- :mod:`.binding`: [ApiController] model binding and validation of one operation's request.

The habits' public names are also here, so ``aspnet.problem(404)`` reads as what it is.
"""
from .habits import (
    DOTNET_BLANKS,
    EMPTY_BODY,
    JSON,
    PROBLEM_JSON,
    VALIDATION_TITLE,
    DotNetValidator,
    InstantOutOfRange,
    allowed_values_error,
    dumps,
    field_required,
    format_datetime,
    max_length_error,
    parse_bool,
    parse_datetime,
    parse_int32,
    problem,
    range_error,
    trace_id,
    utf16_length,
    validation_problem,
    value_invalid,
    value_not_valid_for,
)

__all__ = [
    "DOTNET_BLANKS", "EMPTY_BODY", "JSON", "PROBLEM_JSON", "VALIDATION_TITLE", "DotNetValidator",
    "InstantOutOfRange", "allowed_values_error", "dumps", "field_required", "format_datetime",
    "max_length_error", "parse_bool", "parse_datetime", "parse_int32", "problem", "range_error",
    "trace_id", "utf16_length", "validation_problem", "value_invalid", "value_not_valid_for",
]
