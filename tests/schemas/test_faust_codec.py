"""The codecs registered with Faust, used the way a topic or table uses them."""

from typing import Any

import faust
import pytest
from faust.exceptions import ValueDecodeError
from faust.serializers import codecs
from faust.types.tuples import Message

from schemas.codec import DecodeError, Framing, RecordCodec, SchemaRegistryClient
from schemas.codec.faust_codecs import CODEC_NAMES, register_faust_codecs
from schemas.records import TMCError, to_avro
from tests.schemas.examples import all_records, tmc_error
from tests.schemas.registry_stub import RegistryStub


@pytest.fixture(scope="module")
def app() -> faust.App:
    register_faust_codecs()
    return faust.App("codec-test", broker="kafka://127.0.0.1:1", web_enabled=False)


@pytest.mark.parametrize("record", all_records(), ids=lambda r: type(r).__name__)
async def test_a_stream_schema_round_trips_every_record(app: faust.App, record: Any) -> None:
    schema: faust.Schema[bytes, Any] = faust.Schema(
        key_serializer="raw", value_serializer=CODEC_NAMES[type(record)]
    )
    data = app.serializers.dumps_value(None, record, serializer=CODEC_NAMES[type(record)])
    assert data == RecordCodec(type(record)).encode(record)
    message = Message("t", 0, 0, 0.0, 0, None, b"edge-1", data, None)
    event = await schema.decode(app, message)
    assert event.value == record


def test_the_codec_also_takes_the_avro_dict(app: faust.App) -> None:
    data = codecs.dumps("tmc-error", to_avro(tmc_error()))
    assert codecs.loads("tmc-error", data) == tmc_error()


def test_bad_bytes_surface_as_a_faust_decode_error_caused_by_ours(app: faust.App) -> None:
    with pytest.raises(ValueDecodeError) as raised:
        app.serializers.loads_value(None, b"\x07garbage", serializer="tmc-error")
    assert isinstance(raised.value.__cause__, DecodeError)
    assert raised.value.__cause__.reason == "bad-magic"


def test_confluent_framing_for_encoding_and_decoding(registry: RegistryStub) -> None:
    register_faust_codecs(framing=Framing.CONFLUENT, registry=SchemaRegistryClient(registry.url))
    try:
        data = codecs.dumps("tmc-error", tmc_error())
        assert data[0] == 0
        assert codecs.loads("tmc-error", data) == tmc_error()
    finally:
        register_faust_codecs()
    assert codecs.dumps("tmc-error", tmc_error())[:2] == b"\xc3\x01"


def test_every_record_type_has_a_codec_name() -> None:
    assert len(set(CODEC_NAMES.values())) == len(CODEC_NAMES)
    assert {type(r) for r in all_records()} == set(CODEC_NAMES)
    assert TMCError in CODEC_NAMES
