"""Hostile network pickles are refused by name, and nothing in them ever runs."""

import pytest
from hostile_pickles import build_corpus

from twdne.errors import UnsafePickleError
from twdne.models import load_model
from twdne.stylegan2 import load_network


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return build_corpus(tmp_path_factory.mktemp("hostile"))


def test_corpus_is_large_and_varied(corpus):
    assert len(corpus) >= 20
    assert len({case.global_name for case in corpus}) >= 15
    starts = {case.path.read_bytes()[:2] for case in corpus}
    assert {b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05"} <= starts


def test_every_hostile_pickle_is_refused_naming_global_and_file(corpus):
    for case in corpus:
        with pytest.raises(UnsafePickleError) as caught:
            load_network(case.path)
        message = str(caught.value)
        assert case.global_name in message, f"{case.name}: {message}"
        assert str(case.path) in message and "\n" not in message
        assert not case.sentinel.exists(), f"{case.name} ran its payload"
        if case.canary is not None:
            assert case.canary.is_dir(), f"{case.name} removed its canary folder"


def test_hostile_pickles_are_refused_through_the_model_registry(corpus):
    for case in corpus[:8]:
        with pytest.raises(UnsafePickleError):
            load_model("stylegan2", case.path)
        assert not case.sentinel.exists()
