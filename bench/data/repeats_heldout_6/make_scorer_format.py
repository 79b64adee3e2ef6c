"""Rebuild pairs_scorer_format.jsonl from incidents.jsonl and pairs.jsonl (run from this directory)."""

import json
from pathlib import Path

HERE = Path(__file__).parent


def side(incident: dict) -> dict:
    return {
        "title": incident["title"],
        "services": incident["services"],
        "cause_category": incident.get("cause_category"),
        "summary": incident["summary"],
        "root_cause": incident["root_cause"],
        "contributing_factors": incident.get("contributing_factors", ""),
        "started_at": incident["date"] + "T00:00:00+00:00",
    }


def main() -> None:
    lines = (HERE / "incidents.jsonl").read_text().splitlines()
    incidents = {d["id"]: d for d in map(json.loads, lines)}
    out = []
    for line in (HERE / "pairs.jsonl").read_text().splitlines():
        pair = json.loads(line)
        row = {
            "id": pair["id"],
            "label": pair["label"],
            "earlier": side(incidents[pair["earlier"]]),
            "later": side(incidents[pair["later"]]),
        }
        out.append(json.dumps(row, ensure_ascii=False))
    (HERE / "pairs_scorer_format.jsonl").write_text("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
