"""Stand-in for kubectl, liqoctl and flwr: prints recorded output, logs the call.

Run as a script (see `conftest.fake_tools`). The answers come from
`$FAKE_TOOLS_DIR/answers.json`; calls go to `$FAKE_TOOLS_DIR/calls.jsonl`.
A call nobody prepared an answer for fails loudly with exit code 97.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path


def main() -> int:
    folder = Path(os.environ["FAKE_TOOLS_DIR"])
    call = [os.environ["FAKE_TOOL_NAME"], *sys.argv[1:]]
    with (folder / "calls.jsonl").open("a") as log:
        log.write(json.dumps(call) + "\n")
    if "-f" in call and call[call.index("-f") + 1] == "-":
        # Keep what was piped in, as kubectl would have received it.
        with (folder / "stdin.log").open("a") as piped:
            piped.write(sys.stdin.read() + "\n---\n")

    answers_path = folder / "answers.json"
    answers = json.loads(answers_path.read_text()) if answers_path.exists() else []
    for answer in answers:
        if all(token in call for token in answer["when"]):
            if answer.get("binary"):
                sys.stdout.buffer.write(Path(answer["binary"]).read_bytes())
            else:
                text = answer["stdout"]
                if answer["file"]:
                    text = Path(answer["file"]).read_text()
                sys.stdout.write(text)
            sys.stdout.flush()
            sys.stderr.write(answer["stderr"])
            if answer["linger"]:
                time.sleep(answer["linger"])
            return int(answer["exit"])
    sys.stderr.write(f"fake tool: no recorded answer for {call}\n")
    return 97


if __name__ == "__main__":
    sys.exit(main())
