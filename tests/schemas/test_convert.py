"""Record <-> datum conversion: the enum fast path gives the same answers as the enum class."""

import pytest

from schemas.records import ErrorType, Severity, TMCError, from_avro, to_avro
from streams.testing.harness import unreachable


@pytest.mark.parametrize("error_type", list(ErrorType))
def test_every_symbol_reads_as_its_member(error_type: ErrorType) -> None:
    error = unreachable("c1", error_type)
    for severity in Severity:
        datum = {**to_avro(error), "type": error_type.value, "severity": severity.value}
        back = from_avro(TMCError, {**datum, "timestamp": error.timestamp})
        assert back.type is error_type
        assert back.severity is severity


def test_a_value_no_member_has_is_refused_as_the_enum_class_refuses_it() -> None:
    datum = {**to_avro(unreachable("c1")), "severity": "APOCALYPTIC"}
    with pytest.raises(ValueError, match="APOCALYPTIC"):
        from_avro(TMCError, datum)
