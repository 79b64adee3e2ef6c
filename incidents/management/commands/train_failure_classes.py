"""Learn the failure-class model's weights (``incidents/class_weights.json``) from labelled incidents.

    .venv/bin/python manage.py train_failure_classes [INCIDENTS_JSONL ...]

By default from the labelled development sets (``class_model.TRAINING_SETS``: the ``incidents.jsonl``
of ``bench/data/repeats_public/``, ``repeats_heldout/`` and ``repeats_heldout_3/`` to ``_13/``,
846 incidents), each line an incident with ``title``, ``summary``, ``root_cause``, ``contributing_factors``
and its gold ``failure_classes``, and from the built-in classes' names and keyword rules. The file
keeps the incidents' terms and classes too, for the neighbours' vote. Run it again when those sets
change, and commit the file.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from incidents.class_model import TRAINING_SETS, WEIGHTS_FILE, read_examples, train
from incidents.repeats import DEFAULT_FAILURE_CLASSES


class Command(BaseCommand):
    help = "Learn the failure-class model from labelled incidents and write incidents/class_weights.json."
    requires_system_checks = []
    requires_migrations_checks = False

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="*", type=Path, help="incidents.jsonl files (default: the development sets)")
        parser.add_argument("--output", type=Path, default=WEIGHTS_FILE)

    def handle(self, *args, **options):
        examples = []
        for path in options["files"] or TRAINING_SETS:
            try:
                examples += read_examples(path)
            except (OSError, json.JSONDecodeError) as exc:
                raise CommandError(f"Cannot read {path}: {exc}") from exc
        model = train(examples, DEFAULT_FAILURE_CLASSES)
        options["output"].write_text(json.dumps(model.to_json(), sort_keys=True, indent=0) + "\n", encoding="utf-8")
        self.stdout.write(f"{len(examples)} incidents, {len(model.weights)} classes: wrote {options['output']}")
