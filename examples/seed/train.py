"""Trains the seed example's sentiment model: multinomial naive Bayes with
Laplace smoothing over lower-cased words. Standard library only.

    python3 train.py            # reads train.tsv, writes model/model.json

model/ is the contents of the spec's bucket "models": Portico uploads it at
start when the bucket has no model.json yet (delete .portico/ or run
`portico s3 cp model/model.json s3://models/` to replace the stored one).
"""
import collections
import json
import math
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))
WORD = re.compile(r"[a-z']+")


def tokens(text):
    return WORD.findall(text.lower())


def train(rows):
    docs = collections.Counter()
    words = collections.defaultdict(collections.Counter)
    for label, text in rows:
        docs[label] += 1
        words[label].update(tokens(text))
    vocab = sorted({w for c in words.values() for w in c})
    model = {"labels": {}, "vocabulary": len(vocab)}
    for label in sorted(docs):
        total = sum(words[label].values())
        denom = total + len(vocab)
        model["labels"][label] = {
            "prior": math.log(docs[label] / sum(docs.values())),
            "unknown": math.log(1 / denom),
            "words": {w: round(math.log((words[label][w] + 1) / denom), 5) for w in vocab},
        }
    return model


def main():
    with open(os.path.join(HERE, "train.tsv"), encoding="utf-8") as f:
        rows = [line.rstrip("\n").split("\t", 1) for line in f if line.strip()]
    model = train(rows)
    with open(os.path.join(HERE, "model", "model.json"), "w", encoding="utf-8") as f:
        json.dump(model, f, sort_keys=True, separators=(",", ":"))
        f.write("\n")
    print(f"trained on {len(rows)} examples, {model['vocabulary']} words")


if __name__ == "__main__":
    main()
