"""Rows and inputs for the tests, from the bundled files in ``tests/data`` or built by hand.

Importable from every test folder as ``import sample_data``: ``tests/conftest.py`` lives in
this folder, so pytest (prepend import mode, no ``__init__.py``) puts ``tests/`` on sys.path.

- Real rows: the permissively licensed samples in ``tests/data`` (see its LICENSE.md).
- Hand-written rows in the schemas of data that cannot be bundled (non-commercial licences):
  LIMA as converted by LLaMA-Factory (``history``), AlpacaEval pairwise annotations
  (``preference`` 0/1/2) and the Alpaca / Self-Instruct seed tasks (``instances``).
- Publishing inputs: a scored pool of real Dolly and MT-Bench rows and a selection of it.
"""

from __future__ import annotations

import json
from pathlib import Path

TEST_DATA = Path(__file__).resolve().parent / "data"
DOLLY = "dolly_alpagasus_300.jsonl"
PREFERENCE = "llamafactory_dpo_en_demo_70.jsonl"
SHAREGPT = "fastchat_dummy_conversation_20.jsonl"
SHAREGPT_REAL = "axolotl_conversation_fixture.jsonl"
MT_BENCH_QUESTIONS = "mt_bench_question_20.jsonl"
MT_BENCH_GPT4 = "mt_bench_model_answer_gpt-4_20.jsonl"
DIM = 8


def read_jsonl(name: str, n: int | None = None) -> list[dict]:
    """The first ``n`` rows (all when None) of a bundled file, by file name."""
    rows = []
    with open(TEST_DATA / name, encoding="utf-8") as fh:
        for line in fh:
            rows.append(json.loads(line))
            if len(rows) == n:
                break
    return rows


def short_dolly_rows(n: int, max_chars: int = 200):
    """The first ``n`` real Dolly rows short enough to fit a 192-token window (a Dataset)."""
    from datasets import Dataset

    rows = [r for r in read_jsonl(DOLLY)
            if len(r["instruction"]) + len(r["input"]) + len(r["output"]) < max_chars]
    assert len(rows) >= n, f"only {len(rows)} Dolly rows under {max_chars} characters"
    return Dataset.from_list(rows[:n])


def mt_bench_rows(n: int | None = None) -> list[dict]:
    """First turns of MT-Bench questions with GPT-4's answers, as instruction/input/output rows."""
    questions = {q["question_id"]: q for q in read_jsonl(MT_BENCH_QUESTIONS)}
    rows = []
    for answer in read_jsonl(MT_BENCH_GPT4, n):
        question = questions[answer["question_id"]]
        rows.append({"instruction": question["turns"][0], "input": "",
                     "output": answer["choices"][0]["turns"][0]})
    return rows


# --- hand-written rows in the schemas of data that is not bundled -----------------------------

_LIMA_STYLE = [
    # (instruction, output, history): LLaMA-Factory's alpaca-with-history conversion of LIMA
    ("Why do onions make people cry?",
     "Cutting an onion breaks its cells and releases enzymes that turn sulfur compounds into "
     "a volatile gas. The gas reaches the eyes and irritates them, so they make tears.", []),
    ("Write a haiku about a quiet harbour at dawn.",
     "Grey water, still boats\nA gull folds the morning light\nRopes creak, then silence", []),
    ("And can you make it about dusk instead?",
     "Amber on the tide\nMasts lean into the long dark\nOne lamp, then the stars",
     [["Write a haiku about a quiet harbour at dawn.",
       "Grey water, still boats\nA gull folds the morning light\nRopes creak, then silence"]]),
    ("What is the difference between a list and a tuple in Python?",
     "A list is mutable: you can add, remove and change items. A tuple is immutable, so it can "
     "be a dictionary key and signals that the collection should not change.", []),
    ("Show me how to swap two variables with one.",
     "Tuple packing and unpacking does it in one line: `a, b = b, a`.",
     [["What is the difference between a list and a tuple in Python?",
       "A list is mutable; a tuple is immutable."],
      ["Where are tuples used without people noticing?",
       "In multiple assignment and in functions that return several values."]]),
    ("Give three tips for a first marathon.",
     "1. Start slower than feels right. 2. Practise your race-day food in training. "
     "3. Do not try new shoes on the day.", []),
    ("How long should the taper be?",
     "Most plans taper for two to three weeks, cutting volume while keeping some pace work.",
     [["Give three tips for a first marathon.",
       "Start slowly, practise your fuelling and wear tested shoes."]]),
    ("Explain photosynthesis to a ten-year-old.",
     "Plants catch sunlight with their leaves and use it to turn air and water into sugar, "
     "their food. The oxygen we breathe is what is left over.", []),
    ("Why are leaves green, then?",
     "Chlorophyll, the part of the leaf that catches light, uses red and blue light and "
     "reflects green, so green is what reaches our eyes.",
     [["Explain photosynthesis to a ten-year-old.",
       "Plants use sunlight to turn air and water into food."]]),
    ("Translate 'good morning' into French, Spanish and German.",
     "French: bonjour. Spanish: buenos días. German: guten Morgen.", []),
    ("Now a polite way to say goodbye in each.",
     "French: au revoir. Spanish: adiós, or hasta luego. German: auf Wiedersehen.",
     [["Translate 'good morning' into French, Spanish and German.",
       "Bonjour, buenos días, guten Morgen."],
      ["Which of those is the most formal?", "Guten Morgen is neutral; all three are polite."],
      ["And good night?", "Bonne nuit, buenas noches, gute Nacht."]]),
    ("Summarise the plot of Hamlet in two sentences.",
     "Prince Hamlet learns that his uncle murdered his father to take the throne and plans "
     "revenge. His hesitation and feigned madness lead to the deaths of nearly everyone, "
     "himself included.", []),
]


def lima_style_rows() -> list[dict]:
    """12 LIMA-style rows (``instruction, input, output, history``); 5 have earlier turns."""
    return [{"instruction": q, "input": "", "output": a, "history": h}
            for q, a, h in _LIMA_STYLE]


_EVAL_PAIRS = [
    ("Name a primary colour.", "Red.", "Red is a primary colour, along with blue and yellow."),
    ("What is 12 times 12?", "144", "12 times 12 is 144."),
    ("Suggest a name for a grey cat.", "Smokey.", "Ash"),
    ("Give a synonym for 'happy'.", "Joyful.", "Glad, cheerful or joyful."),
    ("What is the capital of Canada?", "Ottawa.", "Toronto."),
    ("Write a one-line motto for a bakery.", "Fresh from our oven to your table.",
     "Fresh from our oven to your table."),
    ("Convert 5 km to miles.", "About 3.1 miles.", "5 km is 3.11 miles."),
    ("Who wrote 'Pride and Prejudice'?", "Jane Austen.", "Charlotte Brontë."),
    ("List two renewable energy sources.", "Solar and wind.", "Solar power and wind power."),
    ("Is a tomato a fruit?", "Botanically, yes: it is a berry.", "No, it is a vegetable."),
    ("What does CPU stand for?", "Central processing unit.", "Central processing unit."),
    ("Give an antonym of 'ancient'.", "Modern.", "Old."),
    ("How many legs does a spider have?", "Eight.", "Spiders have eight legs."),
    ("What is the boiling point of water at sea level?", "100 °C (212 °F).", "90 °C."),
    ("Recommend a beginner's programming language.", "Python.", "Python, for its readable syntax."),
    ("What colour do you get mixing blue and yellow?", "Green.", "Green."),
    ("Name the largest planet.", "Jupiter.", "Saturn."),
    ("Give a word that rhymes with 'light'.", "Night.", "Bright, night or kite."),
    ("What is H2O?", "Water.", "H2O is the chemical formula of water."),
    ("Round 3.14159 to two decimals.", "3.14", "3.1416"),
    ("Translate 'thank you' into Spanish.", "Gracias.", "Gracias."),
    ("Which ocean is the largest?", "The Pacific.", "The Atlantic."),
    ("What is the square root of 81?", "9", "The square root of 81 is 9."),
    ("Name a mammal that can fly.", "The bat.", "The flying squirrel."),
]


def alpaca_eval_annotation_rows() -> list[dict]:
    """24 AlpacaEval-style pairwise annotations; ``preference`` 1 or 2 names the better output,
    0 marks a draw (identical outputs), as in AlpacaEval. 4 rows are draws."""
    rows = []
    for i, (instruction, out_1, out_2) in enumerate(_EVAL_PAIRS):
        if out_1 == out_2:
            preference = 0
        else:  # a fixed pattern: which output wins does not matter to the tests
            preference = 1 if i in (1, 4, 7, 9, 13, 16, 19, 21, 23) else 2
        rows.append({"instruction": instruction, "output_1": out_1, "generator_1": "model_a",
                     "dataset": "handwritten", "output_2": out_2, "generator_2": "model_b",
                     "annotator": "handwritten", "preference": preference,
                     "price_per_example": 0.0, "time_per_example": 0.0})
    return rows


ALPACA_EVAL_DRAWS = 4


def seed_task_rows() -> list[dict]:
    """Rows in the schema of Alpaca's / Self-Instruct's seed tasks (not preference, not SFT)."""
    return [
        {"id": "seed_task_0", "name": "breakfast_suggestion",
         "instruction": "Is there anything I can eat for a breakfast that doesn't include eggs?",
         "instances": [{"input": "", "output": "Yes: porridge, toast with peanut butter, or "
                                               "yoghurt with fruit."}],
         "is_classification": False},
        {"id": "seed_task_1", "name": "sentiment",
         "instruction": "Is the sentiment of this review positive or negative?",
         "instances": [{"input": "The soup was cold and the waiter ignored us.",
                        "output": "Negative"}],
         "is_classification": True},
    ]


def write_jsonl(rows: list[dict], path: Path) -> Path:
    """Write rows as JSON Lines (for tests that need a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


# --- publishing inputs ------------------------------------------------------------------------
# Scores are length-based (longer instruction: more complex; longer answer: better; smooth, so
# rows rarely tie), embeddings random unit vectors; the "selection" takes the best-scored rows in order, as select_deita would
# with no similarity threshold, and records each kept row's highest similarity to earlier ones.

def _scale(length: int, half: int) -> float:
    """A length mapped into the scorers' range 1..6 without saturating (``half`` → 3.5)."""
    return 1.0 + 5.0 * length / (length + half)


def build_pool(n_dolly: int = 180, n_mt_bench: int = 20, seed: int = 0):
    """A scored pool: alpaca-format rows with a ``source`` column and DEITA score columns."""
    import numpy as np
    from datasets import Dataset

    rows = [dict(r, source="dolly") for r in read_jsonl(DOLLY, n_dolly)]
    rows += [dict(r, source="mt_bench") for r in mt_bench_rows(n_mt_bench)]
    rng = np.random.default_rng(seed)
    emb = rng.normal(size=(len(rows), DIM))
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    data = {
        "instruction": [r["instruction"] for r in rows],
        "input": [r.get("input", "") for r in rows],
        "output": [r["output"] for r in rows],
        "source": [r["source"] for r in rows],
        "complexity": [[_scale(len(r["instruction"]), 100)] for r in rows],
        "quality": [[_scale(len(r["output"]), 400)] for r in rows],
        "embedding": emb.astype(np.float32).tolist(),
    }
    return Dataset.from_dict(data)


def score(pool) -> list[float]:
    """Σ over turns of complexity × quality (the DEITA score) for every pool row."""
    return [float(sum(c * q for c, q in zip(cs, qs)))
            for cs, qs in zip(pool["complexity"], pool["quality"])]


def build_selection(pool, budget: int = 30):
    """(selected, settings): the ``budget`` best rows with deita_score/deita_rank."""
    import numpy as np

    scores = score(pool)
    order = sorted(range(len(pool)), key=lambda i: -scores[i])[:budget]
    selected = pool.select(order)
    selected = selected.add_column("deita_score", [scores[i] for i in order])
    selected = selected.add_column("deita_rank", list(range(len(order))))
    emb = np.asarray(selected["embedding"], dtype=np.float64)
    sims = [None] + [float((emb[:k] @ emb[k]).max()) for k in range(1, len(order))]
    settings = {
        "deita_hf_version": "0.1.0",
        "created_at": "2026-11-21T07:00:00Z",
        "input": "tests/dolly+mt_bench",
        "budget": budget,
        "threshold": 0.9,
        "pool_size": len(pool),
        "examined": len(order),
        "kept": len(order),
        "seconds": 0.5,
        "device": "cpu",
        "embedding_column": "embedding",
        "complexity_column": "complexity",
        "quality_column": "quality",
        "score_column": "deita_score",
        "max_similarity": sims,
        "scorers": {
            "complexity": {"name": "hkust-nlp/deita-complexity-scorer", "revision": "abc123",
                           "kind": "causal-lm"},
            "quality": {"name": "hkust-nlp/deita-quality-scorer", "revision": "def456",
                        "kind": "causal-lm"},
            "embedder": {"name": "all-MiniLM-L6-v2", "revision": "v1",
                         "kind": "sentence-transformers"},
        },
    }
    return selected, settings


def alpaca_messages(row: dict) -> list[dict]:
    """TRL's conversational messages of an instruction/input/output row, written out here
    (independently of deita_hf.data.formats): the input joined to the instruction by a blank line."""
    user = row["instruction"] + (f"\n\n{row['input']}" if row.get("input") else "")
    return [{"role": "user", "content": user}, {"role": "assistant", "content": row["output"]}]


def training_rows(selected, vectors=("embedding",)) -> list[dict]:
    """What a selection folder's default config holds for ``selected`` (instruction/input/output
    rows): every column but the vectors, plus ``messages``."""
    return [{**{k: v for k, v in row.items() if k not in vectors}, "messages": alpaca_messages(row)}
            for row in selected.to_list()]
