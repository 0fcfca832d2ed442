"""JudgeScorer and InsTagTagger against a scripted OpenAI-compatible server on 127.0.0.1."""

import json
import math
import pickle

import pytest
from datasets import Dataset, load_from_disk

from deita_hf.components import build_component
from deita_hf.errors import GenerationError
from deita_hf.scoring import JUDGE_PROMPTS, InsTagTagger, JudgeScorer
from deita_hf.scoring.instag import INSTAG_PROMPT
from helpers.openai_server import Fault, ScriptedOpenAIServer

ROWS = {"instruction": ["Name a red fruit.", "Add 2 and 3.", "Write a haiku."],
        "output": ["A strawberry.", "5", "Leaves fall in silence"]}


def _user(body):
    return body["messages"][-1]["content"]


def judge_responder(body, path):
    """A judge that answers by instruction: valid, valid after a re-ask, never valid."""
    text = _user(body)
    if "red fruit" in text:
        return "Score: 5\nCorrect and brief."
    if "Add 2" in text:
        return "Score: 4" if body["temperature"] > 0 else "I think it deserves a four."
    return "Score: 3\nScore: 4"  # two score lines: not strictly one number


def test_judge_sends_the_prompt_parses_strictly_and_keeps_raw():
    with ScriptedOpenAIServer(judge_responder) as server:
        judge = JudgeScorer(f"openai:{server.url}#judge", "quality", retries=2)
        with pytest.warns(RuntimeWarning, match=r"judge_quality: 1 of 3 items have no valid answer after 3 "
                                                r"ask\(s\).*row 12 turn 0: 'Score: 3\\nScore: 4'"):
            out = judge(ROWS, [10, 11, 12])
        first = [r["body"] for r in server.requests[:3]]
    sent = sorted((b["messages"] for b in first), key=str)
    want = sorted((JUDGE_PROMPTS["quality"].render(i, o) for i, o in zip(ROWS["instruction"], ROWS["output"])),
                  key=str)
    assert sent == want and all(b["temperature"] == 0 and b["seed"] == 0 for b in first)
    assert "from 1 (useless or wrong) to 6" in _user(first[0])
    assert out["judge_quality"][:2] == [[5.0], [4.0]] and math.isnan(out["judge_quality"][2][0])
    assert out["judge_quality_raw"] == [["Score: 5\nCorrect and brief."], ["Score: 4"], ["Score: 3\nScore: 4"]]
    assert len(server.requests) == 3 + 2 + 1  # re-asks only for what did not parse


def test_judge_raise_cache_and_generation_failures(tmp_path):
    with ScriptedOpenAIServer(judge_responder) as server:
        strict = JudgeScorer(f"openai:{server.url}#judge", "complexity", retries=0, on_error="raise")
        with pytest.raises(GenerationError, match="row 1 turn 0"):
            strict(ROWS)
        cached = JudgeScorer(f"openai:{server.url}#judge", "complexity", cache_dir=tmp_path, retries=1)
        with pytest.warns(RuntimeWarning):
            once = cached(ROWS)
        n = len(server.requests)
        with pytest.warns(RuntimeWarning):  # the unparseable one is still asked (failures are not final)
            again = JudgeScorer(f"openai:{server.url}#judge", "complexity", cache_dir=tmp_path, retries=1)(ROWS)
        assert again["judge_complexity_raw"] == once["judge_complexity_raw"]
        assert len(server.requests) == n  # every reply came from the cache
    with ScriptedOpenAIServer(lambda body, path: Fault(status=400, message="bad model")) as down:
        with pytest.warns(RuntimeWarning, match="no reply \\(generation failed\\)"):
            out = JudgeScorer(f"openai:{down.url}#judge", "quality")({"instruction": ["x"], "output": ["y"]})
    assert math.isnan(out["judge_quality"][0][0]) and out["judge_quality_raw"] == [[None]]


def test_alpagasus_halves_custom_template_and_spec():
    with ScriptedOpenAIServer(lambda body, path: "Score: 4.5\nAccurate.") as server:
        judge = build_component("scorer", f"judge:alpagasus@openai:{server.url}#judge")
        out = judge(ROWS)
        assert out["judge_alpagasus"] == [[4.5], [4.5], [4.5]]
        assert server.requests[0]["body"]["messages"][0]["role"] == "system"
        custom = JudgeScorer(f"openai:{server.url}#judge", "Rate {instruction} from {low} to {high}. Score: N",
                             scale=(1, 10), column="mine")
        with pytest.warns(RuntimeWarning, match="mine: 3 of 3 items"):  # halves not allowed
            got = custom(ROWS)
        assert _user(server.requests[-1]["body"]).endswith("from 1 to 10. Score: N")
    assert all(math.isnan(v[0]) for v in got["mine"]) and got["mine_raw"][0] == ["Score: 4.5\nAccurate."]


def test_judge_in_dataset_map_pickles_and_hits_the_cache(tmp_path):
    Dataset.from_dict(ROWS).save_to_disk(str(tmp_path / "ds"))
    ds = load_from_disk(str(tmp_path / "ds"))
    with ScriptedOpenAIServer(lambda body, path: "Score: 2") as server:
        judge = JudgeScorer(f"openai:{server.url}#judge", "quality")
        assert pickle.loads(pickle.dumps(judge)).describe() == judge.describe()
        out1 = ds.map(judge, batched=True, with_indices=True)
        n = len(server.requests)
        out2 = ds.map(JudgeScorer(f"openai:{server.url}#judge", "quality"), batched=True, with_indices=True)
        assert len(server.requests) == n == 3 and out2.cache_files == out1.cache_files
    assert out2["judge_quality"][:] == [[2.0]] * 3


def tag_responder(body, path):
    text = _user(body)
    if "red fruit" in text:
        return '["Fruit", "color  constraint"]'
    if "Add 2" in text:
        return '```json\n[{"tag": "math", "explanation": "addition"}, {"tag": "Fruit"}]\n```'
    if "Write a haiku" in text:
        return "Tags: poetry, haiku"  # not JSON: never parsed loosely
    return '["follow-up"]'


def test_instag_tags_nodes_raw_and_failures(tmp_path):
    rows = {"messages": [
        [{"role": "user", "content": "Name a red fruit."}, {"role": "assistant", "content": "A strawberry."},
         {"role": "user", "content": "Add 2 and 3."}, {"role": "assistant", "content": "5"}],
        [{"role": "user", "content": "Write a haiku."}, {"role": "assistant", "content": "..."}],
        [{"role": "user", "content": "And another?"}, {"role": "assistant", "content": "Sure."}]]}
    with ScriptedOpenAIServer(tag_responder) as server:
        tagger = build_component("scorer", f"instag@openai:{server.url}#tagger", retries=1, cache_dir=tmp_path)
        assert isinstance(tagger, InsTagTagger)
        with pytest.warns(RuntimeWarning, match=r"tags: 1 of 4 items .*row 1 turn 0: 'Tags: poetry, haiku'"):
            out = tagger(rows, [0, 1, 2])
        assert _user(server.requests[0]["body"]) in {INSTAG_PROMPT.format(instruction=i) for i in
                                                     ("Name a red fruit.", "Add 2 and 3.", "Write a haiku.",
                                                      "And another?")}
        n = len(server.requests)
        with pytest.warns(RuntimeWarning):
            InsTagTagger(f"openai:{server.url}#tagger", retries=1, cache_dir=tmp_path)(rows, [0, 1, 2])
        assert len(server.requests) == n  # cache hit
        strict = InsTagTagger(f"openai:{server.url}#tagger", retries=0, on_error="raise")
        with pytest.raises(GenerationError, match="row 1 turn 0"):
            strict(rows, [0, 1, 2])
    assert out["tags"] == [["fruit", "color constraint", "math"], None, ["follow-up"]]
    assert out["instag_nodes"] == [3, None, 1]
    assert out["tags_raw"][1] == ["Tags: poetry, haiku"] and len(out["tags_raw"][0]) == 2
    assert json.loads(json.dumps(tagger.describe()))["columns"] == ["tags", "instag_nodes", "tags_raw"]
