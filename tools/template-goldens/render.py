#!/usr/bin/python3
# render.py — golden renders of the chat templates under tests/data/templates (the corpus and the
# fixtures) over the conversations of corpus/conversations.json, by Python's jinja2 (Debian's
# python3-jinja2: apt-get install python3-jinja2; run with /usr/bin/python3) configured as Hugging
# Face transformers' apply_chat_template configures it: ImmutableSandboxedEnvironment with
# trim_blocks and lstrip_blocks, the loopcontrols extension, a {% generation %} tag that renders
# its body, tojson = json.dumps(x, ensure_ascii=False, indent=None, separators=None,
# sort_keys=False), raise_exception(msg) raising TemplateError(msg), strftime_now(fmt) on a fixed
# clock (NOW below, UTC). The context is passed as given: render(**context).
#
#   /usr/bin/python3 tools/template-goldens/render.py      # rewrites corpus/golden/*.json
import datetime, glob, json, os, sys

import jinja2
from jinja2 import nodes
from jinja2.ext import Extension, loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "data",
                    "templates")
NOW = 1721995200  # 2024-07-26 12:00:00 UTC


class Generation(Extension):
    """transformers' {% generation %} ... {% endgeneration %}: the body renders as is."""
    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        call = self.call_method("_render", [])
        return nodes.CallBlock(call, [], [], body).set_lineno(lineno)

    def _render(self, caller):
        return caller()


def environment(now):
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators,
                          sort_keys=sort_keys)

    def strftime_now(fmt):
        return datetime.datetime.fromtimestamp(now, datetime.timezone.utc).strftime(fmt)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[Generation, loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def render(src, ctx, now):
    try:
        return {"rendered": environment(now).from_string(src).render(**ctx)}
    except Exception as e:  # the template refused the context, or failed
        return {"error": {"type": type(e).__name__, "message": str(e)}}


def main():
    convs = json.load(open(os.path.join(ROOT, "corpus", "conversations.json"), encoding="utf-8"))
    paths = sorted(glob.glob(os.path.join(ROOT, "corpus", "*.jinja")) +
                   glob.glob(os.path.join(ROOT, "*.jinja")))
    os.makedirs(os.path.join(ROOT, "corpus", "golden"), exist_ok=True)
    for path in paths:
        src = open(path, encoding="utf-8").read()
        rel = os.path.relpath(path, ROOT)
        cases = []
        for c in convs["cases"]:
            r = render(src, c["context"], NOW)
            later = render(src, c["context"], NOW + 86400 * 40 + 3600 * 5)
            out = {"name": c["name"]}
            out.update(r)
            if r != later:
                out["uses_time"] = True
            cases.append(out)
        name = os.path.splitext(os.path.basename(path))[0]
        with open(os.path.join(ROOT, "corpus", "golden", name + ".json"), "w",
                  encoding="utf-8") as f:
            json.dump({"schema": "wick-template-golden/2", "template": rel,
                       "renderer": "Python jinja2 %s, configured as transformers' "
                                   "apply_chat_template (tools/template-goldens/render.py)"
                                   % jinja2.__version__,
                       "now": NOW, "cases": cases}, f, ensure_ascii=False, indent=1)
            f.write("\n")
        n_err = sum("error" in c for c in cases)
        print("%-60s %2d renders, %2d errors" % (rel, len(cases) - n_err, n_err))


if __name__ == "__main__":
    sys.exit(main())
