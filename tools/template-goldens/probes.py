#!/usr/bin/python3
# probes.py — small templates, one feature each, rendered by Python's jinja2 configured as
# transformers does (render.py's environment); writes tests/data/templates/probes.json, which
# test_chat compares wick against byte for byte (or: both fail).
#   /usr/bin/python3 tools/template-goldens/probes.py
import json, os, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from render import NOW, ROOT, render  # noqa: E402

M = [{"role": "system", "content": "sys"}, {"role": "user", "content": "hi"},
     {"role": "assistant", "content": "yo", "tool_calls": [{"function": {"name": "f", "arguments": {"a": 1}}}]},
     {"role": "user", "content": "bye"}]
C = {"messages": M, "s": "Hello World", "n": 7, "f": 2.5, "neg": -3, "t": True, "no": None,
     "l": [3, 1, 2], "e": [], "d": {"b": 2, "a": 1, "items": "x"}, "u": "ünï 日本 🦙",
     "words": ["apple", "Banana", "cherry", "apple"], "nested": {"x": {"y": [10, 20, {"z": "deep"}]}},
     "people": [{"name": "Ann", "age": 31, "city": "Oslo"}, {"name": "bob", "age": 25},
                {"name": "Cid", "age": 31, "city": "Lima"}],
     "big": 9007199254740993, "fl": [1.5, 0.1, 1e16, 1e-5, 100.0, -0.0, 3.0, 123456789.123],
     "q": "it's \"quoted\"\\ \n\t\x01", "html": "<a href='x'>&</a>"}

P = [
    # printing values as Python
    "{{ t }} {{ no }} {{ n }} {{ f }} {{ l }} {{ d }} {{ e }} {{ (1,) }} {{ (1, 'a') }} {{ () }}",
    "{{ fl }}", "{% for x in fl %}{{ x }}|{% endfor %}", "{{ q }}|{{ [q] }}|{{ {'k': q} }}",
    "{{ ['it\\'s'] }} {{ [\"say \\\"hi\\\"\"] }} {{ ['both \\' and \"'] }}", "{{ [u] }} {{ u }}",
    "{{ undefined_var }}|{{ undefined_var is defined }}|{{ undefined_var is undefined }}",
    "{{ nested }}", "{{ 1e300 * 10 }} {{ 0.1 + 0.2 }} {{ 1 / 3 }} {{ 2 ** 0.5 }}",
    "{{ big }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 7 % -3 }} {{ 7.5 // 2 }} {{ -7.5 % 2 }} {{ 2 ** 10 }} {{ 2 ** -1 }}",
    "{{ 10 / 4 }} {{ 10 // 4 }} {{ 3 * 'ab' }} {{ 'ab' * 0 }} {{ [1] * 3 }} {{ 1 + 2.0 }} {{ True + 1 }}",
    "{{ 'a' ~ 1 ~ none ~ t ~ [1] ~ undefined_var }}", "{{ 'x' + 'y' }} {{ [1] + [2, 3] }} {{ (1,) + (2,) }}",
    "{{ -n }} {{ +f }} {{ not n }} {{ not e }} {{ n and s }} {{ e or 'empty' }} {{ 0 or none }}",
    "{{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }} {{ 1 == 1.0 }} {{ 'a' < 'b' }} {{ [1, 2] < [1, 3] }} {{ 'a' != 'a' }}",
    "{{ 2 in l }} {{ 5 not in l }} {{ 'ell' in s }} {{ 'a' in d }} {{ 'z' in d }} {{ 'x' in undefined_var }}",
    "{{ 'yes' if t else 'no' }} {{ 'yes' if no }}|{{ 'a' if 0 else 'b' if 1 else 'c' }}",
    # strings and escapes
    "{{ 'tab\\there' }}|{{ \"nl\\nx\" }}|{{ '\\u00e9\\x41\\101' }}|{{ 'back\\\\slash' }}|{{ 'a' 'b' \"c\" }}",
    "{{ '\\d\\w' }}|{{ 'é\\é' }}",
    # whitespace control, trim_blocks, lstrip_blocks
    "a\n  {% if t %}\n  b\n  {% endif %}\nc",
    "a  {%- if t -%}  b  {%- endif -%}  c",
    "x\n    {%+ if t %}y{% endif %}\n",
    "x\n  {# comment #}\ny\n  {#- c2 -#}  z",
    "{% for i in l %}\n  {{ i }}\n{% endfor %}\n",
    "{% for i in l -%}\n  {{ i }}\n{%- endfor %}",
    "  {{ s }}  {% if t %}  in  {% endif %}  out",
    "{% raw %}{{ not rendered }}{% endraw %}|{%- raw -%}  {% x %}  {%- endraw -%}  |",
    "line\r\nwith crlf {% if t %}\r\nyes{% endif %}\r\n",
    "trailing newline kept?\n\n",
    "{% if t %}a{% else %}b{% endif %}{% if no %}c{% elif n > 5 %}d{% else %}e{% endif %}",
    "{{- ' x ' -}} | {{ s -}}   .   {{- s }}",
    # loops
    "{% for m in messages %}{{ loop.index }}/{{ loop.index0 }}/{{ loop.revindex }}/{{ loop.revindex0 }}/{{ loop.first }}/{{ loop.last }}/{{ loop.length }}/{{ m.role }};{% endfor %}",
    "{% for x in l %}{{ loop.previtem }}-{{ x }}-{{ loop.nextitem }};{% endfor %}",
    "{% for x in e %}never{% else %}empty{% endfor %}|{% for x in l if x > 1 %}{{ x }}{{ loop.length }}{% else %}none{% endfor %}",
    "{% for k, v in d.items() %}{{ k }}={{ v }},{% endfor %}|{% for k in d %}{{ k }}{% endfor %}",
    "{% for a, b in [[1, 2], (3, 4)] %}{{ a + b }}{% endfor %}|{% for c in 'héllo' %}[{{ c }}]{% endfor %}",
    "{% for x in range(10) %}{% if x == 2 %}{% continue %}{% endif %}{% if x > 5 %}{% break %}{% endif %}{{ x }}{% endfor %}",
    "{% for x in l %}{{ loop.cycle('odd', 'even') }}{{ loop.changed(x > 1) }},{% endfor %}",
    "{% for row in [[1, 2], [3]] %}{% for c in row %}{{ loop.depth }}{{ c }}{% endfor %}{% endfor %}",
    "{% for n in [{'v': 1, 'k': [{'v': 2, 'k': []}]}] recursive %}{{ n.v }}({{ loop.depth }}){{ loop(n.k) }}{% endfor %}",
    "{% for i in range(3) %}{% set x = i * 2 %}{{ x }}{% endfor %}{{ x }}",
    "{% set x = 1 %}{% for i in l %}{{ x }}{% set x = x + i %}{{ x }},{% endfor %}{{ x }}",
    "{{ range(5) | list }} {{ range(2, 9, 3) | list }} {{ range(5, 0, -2) | list }} {{ range(0) | list }}",
    # set, namespace, with
    "{% set a, b = 1, 2 %}{{ a }}{{ b }}{% set c = a, b %}{{ c }}",
    "{% set ns = namespace(count=0, items=[]) %}{% for m in messages %}{% set ns.count = ns.count + 1 %}{% endfor %}{{ ns.count }} {{ ns }}",
    "{% set ns = namespace(d) %}{{ ns.a }}{{ ns.b }}",
    "{% set block %}  inner {{ n }}  {% endset %}[{{ block }}]{% set b2 | upper | trim %}  low  {% endset %}[{{ b2 }}]",
    "{% with a = 5, b = n %}{{ a + b }}{% endwith %}{{ a }}",
    # macros and call
    "{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}{{ greet('Ann') }} {{ greet('Bob', punct='?') }} {{ greet(name='Cy') }}",
    "{% macro m(a) %}{{ a }}/{{ varargs }}/{{ kwargs }}{% endmacro %}{{ m(1, 2, 3, x=4) }}",
    "{% macro outer() %}[{{ caller() }}]{% endmacro %}{% call outer() %}body {{ n }}{% endcall %}",
    "{% macro list(items) %}{% for i in items %}{{ caller(i) }}{% endfor %}{% endmacro %}{% call(x) list(l) %}<{{ x }}>{% endcall %}",
    "{% macro fact(k) %}{% if k <= 1 %}1{% else %}{{ k * fact(k - 1) | int }}{% endif %}{% endmacro %}{{ fact(5) }}",
    "{% macro m() %}{{ n }}{% endmacro %}{% set n = 99 %}{{ m() }}",
    "{% macro m(a, b=a * 2) %}{{ a }},{{ b }}{% endmacro %}{{ m(3) }}",
    "{% macro m() %}x{% endmacro %}{{ m }}|{{ m is callable }}",
    # filters
    "{{ '  pad  ' | trim }}|{{ 'xxhixx' | trim('x') }}|{{ s | upper }}|{{ s | lower }}|{{ 'hello wORLD-foo(bar' | title }}|{{ 'hELLO' | capitalize }}",
    "{{ s | replace('o', '0') }}|{{ s | replace('l', 'L', 2) }}|{{ s | length }}|{{ u | length }}|{{ d | length }}|{{ undefined_var | length }}",
    "{{ l | first }} {{ l | last }} {{ e | first }}|{{ 'abc' | first }} {{ 'abc' | last }} {{ l | count }}",
    "{{ l | sort }} {{ l | sort(reverse=true) }} {{ words | sort }} {{ words | sort(case_sensitive=true) }} {{ people | sort(attribute='age') | map(attribute='name') | list }}",
    "{{ words | unique | list }} {{ words | unique(case_sensitive=true) | list }} {{ l | reverse | list }} {{ 'abc' | reverse }}",
    "{{ words | join(', ') }}|{{ l | join }}|{{ people | join('/', attribute='name') }}",
    "{{ people | map(attribute='name') | join(',') }}|{{ people | map(attribute='city', default='?') | list }}|{{ words | map('upper') | list }}",
    "{{ people | selectattr('age', 'equalto', 31) | map(attribute='name') | list }}|{{ people | rejectattr('city') | map(attribute='name') | list }}|{{ people | selectattr('city', 'defined') | list | length }}",
    "{{ l | select('odd') | list }} {{ l | reject('odd') | list }} {{ [0, 1, '', 'a', none] | select | list }} {{ l | select('greaterthan', 1) | list }}",
    "{{ l | map('string') | list }} {{ ['1', '2.5', 'x', '0x1A'] | map('int') | list }} {{ ['1', '2.5', 'x'] | map('float') | list }} {{ '0x1A' | int(base=16) }} {{ 'x' | int(7) }}",
    "{{ d | items | list }} {{ d | dictsort }} {{ d | dictsort(by='value', reverse=true) }}",
    "{{ undefined_var | default('dflt') }} {{ '' | default('e', true) }} {{ none | default('n') }} {{ undefined_var | d(1) }}",
    "{{ -3 | abs }} {{ neg | abs }} {{ 2.567 | round }} {{ 2.567 | round(2) }} {{ 2.5 | round }} {{ 3.5 | round }} {{ 2.561 | round(1, 'floor') }} {{ 2.561 | round(1, 'ceil') }} {{ 7 | round }}",
    "{{ l | sum }} {{ fl | sum }} {{ people | sum(attribute='age') }} {{ l | min }} {{ l | max }} {{ words | max }} {{ people | max(attribute='age') }}",
    "{{ 'line1\\nline2\\n\\nline4' | indent }}|{{ 'a\\nb' | indent(2, true) }}|{{ 'a\\n\\nb' | indent('> ', blank=true) }}",
    "{{ s | center(21) }}|{{ s | wordcount }}|{{ 'a long sentence to cut' | truncate(12) }}|{{ 'a long sentence' | truncate(9, true) }}",
    "{{ l | batch(2) | list }} {{ l | batch(2, 0) | list }}",
    "{{ html | e }} {{ html | escape | length }} {{ html | safe }} {{ html | safe is escaped }} {{ html is escaped }}",
    "{{ '%s-%d-%.2f-%5s-%-4s|' | format('a', 3, 2.345, 'r', 'l') }} {{ '%(x)s' | format(x=1) }}",
    "{{ 'Use ' | safe + html }} {{ html + ' x' | safe }} {{ ('<' | safe) ~ '<' }} {{ ('<b>' | safe) * 2 }}",
    # tojson
    "{{ d | tojson }} {{ l | tojson }} {{ u | tojson }} {{ q | tojson }} {{ fl | tojson }} {{ none | tojson }} {{ t | tojson }}",
    "{{ nested | tojson(indent=2) }}",
    "{{ d | tojson(indent=4, sort_keys=true) }}|{{ d | tojson(separators=(',', ':')) }}|{{ u | tojson(ensure_ascii=true) }}",
    "{{ {1: 'a', true: 'b', none: 'c', 2.5: 'd'} | tojson }} {{ (1, 2) | tojson }} {{ [] | tojson(indent=2) }} {{ {} | tojson(indent=2) }}",
    "{{ messages | tojson }}",
    "{{ html | tojson }} {{ 'é\\u2028\\x7f' | tojson }} {{ '🦙' | tojson(ensure_ascii=true) }}",
    # tests
    "{{ n is odd }} {{ n is even }} {{ 9 is divisibleby 3 }} {{ 9 is divisibleby(4) }} {{ n is number }} {{ f is float }} {{ n is integer }} {{ t is boolean }} {{ t is number }}",
    "{{ s is string }} {{ d is mapping }} {{ l is sequence }} {{ s is sequence }} {{ d is sequence }} {{ n is sequence }} {{ l is iterable }} {{ n is iterable }} {{ undefined_var is iterable }}",
    "{{ no is none }} {{ n is none }} {{ t is true }} {{ 1 is true }} {{ false is false }} {{ n is not none }} {{ 'Ab' is lower }} {{ 'ab' is lower }} {{ 'AB' is upper }}",
    "{{ n is eq 7 }} {{ n is ne 7 }} {{ n is gt 5 }} {{ n is lt 5 }} {{ n is ge 7 }} {{ n is le 6 }} {{ 2 is in l }} {{ none is sameas none }} {{ 'upper' is filter }} {{ 'odd' is test }} {{ 'nope' is filter }}",
    "{{ messages[2].tool_calls is defined }} {{ messages[0].tool_calls is defined }} {{ messages[0]['content'] is string }} {{ messages | selectattr('role', 'eq', 'user') | list | length }}",
    # attribute/item access and slicing
    "{{ messages[0].role }} {{ messages[-1]['content'] }} {{ messages[9] }}|{{ nested.x.y[2].z }} {{ nested['x']['y'][0] }} {{ l.0 }} {{ d.items is callable }}",
    "{{ l[1:] }} {{ l[:-1] }} {{ l[::-1] }} {{ l[::2] }} {{ s[6:] }} {{ s[::-1] }} {{ u[1:4] }} {{ u[::-1] }} {{ s[-3:] }} {{ l[5:] }} {{ s[100:] }}",
    "{{ messages[1:3] | map(attribute='role') | list }} {{ (messages | length) - 1 }} {{ messages[-1].role == 'user' }}",
    # string methods
    "{{ '  x  '.strip() }}|{{ 'xxaxx'.strip('x') }}|{{ '  x  '.lstrip() }}|{{ '  x  '.rstrip() }}|{{ 'a,b,,c'.split(',') }}|{{ ' a  b '.split() }}|{{ 'a b c'.split(' ', 1) }}|{{ 'a b c'.rsplit(' ', 1) }}",
    "{{ s.startswith('Hell') }} {{ s.endswith(('x', 'ld')) }} {{ s.replace('World', 'there') }} {{ s.upper() }} {{ s.lower() }} {{ 'hello world'.title() }} {{ \"they're bill's\".title() }} {{ s.swapcase() }}",
    "{{ s.find('o') }} {{ s.rfind('o') }} {{ s.find('zz') }} {{ s.count('l') }} {{ s.index('W') }} {{ u.find('日') }} {{ ', '.join(words) }} {{ '-'.join('abc') }}",
    "{{ '{} and {}'.format('a', 'b') }} {{ '{0}{1}{0}'.format('x', 'y') }} {{ '{name}!'.format(name='N') }} {{ '{:>6}|{:<4}|{:^5}|{:.2f}|{:05d}|{!r}'.format('r', 'l', 'c', 3.14159, 42, 's') }}",
    "{{ 'a\\nb\\r\\nc'.splitlines() }} {{ 'abc'.center(7, '*') }} {{ '42'.zfill(5) }} {{ '-4'.zfill(4) }} {{ 'ab'.ljust(4, '.') }} {{ 'ab'.rjust(4) }}",
    "{{ 'key=value=x'.partition('=') }} {{ 'key=value=x'.rpartition('=') }} {{ 'prefix_rest'.removeprefix('prefix_') }} {{ '123'.isdigit() }} {{ 'ab'.isalpha() }} {{ '  '.isspace() }} {{ 'Ab1'.isalnum() }}",
    "{{ s.split('o') | length }} {{ 'a-b'.split('-')[1] }} {{ ('x' ~ n).upper() }}",
    # dict methods
    "{{ d.get('a') }} {{ d.get('zz') }} {{ d.get('zz', 'dflt') }} {{ d.keys() | list }} {{ d.values() | list }} {{ d['items'] }} {{ d.items() | list }}",
    "{{ d.keys() }} {{ d.values() }} {{ d.items() }} {{ d.copy() }}",
    "{{ l.index(2) }} {{ l.count(3) }} {{ words.count('apple') }}",
    # globals
    "{{ dict(a=1, b='x') }} {{ namespace(a=1) }} {{ range(3) | list }}",
    "{{ strftime_now('%Y-%m-%d %H:%M %A %b') }}",
    "{{ bos_token }}|{{ eos_token }}",
    # generation tag
    "{% for m in messages %}{% generation %}{{ m.role }}{% set inner = 1 %}{% endgeneration %}{% endfor %}{{ inner }}",
    "{% filter upper %}hello {{ s }}{% endfilter %}|{% filter trim | title %}  two words  {% endfilter %}",
    "{% print 'printed', n %}",
    # errors: both must fail
    "{{ raise_exception('custom failure message') }}",
    "{% if messages[0].role != 'user' %}{{ raise_exception('Conversation must start with user') }}{% endif %}",
    "{{ undefined_var.attr }}", "{{ undefined_var + 1 }}", "{{ undefined_var() }}", "{{ 1 + 'a' }}", "{{ 'a' + 1 }}",
    "{{ 1 / 0 }}", "{{ 1 // 0 }}", "{{ 1 < 'a' }}", "{{ none.attr }}", "{{ none.attr.more }}", "{{ n() }}",
    "{{ l.append(4) }}", "{{ d.update({'x': 1}) }}", "{{ d | tojson(indent=none) }}{{ undefined_var | tojson }}",
    "{{ range(100001) | length }}", "{% for a, b in l %}{% endfor %}", "{{ 'x' | nosuchfilter }}",
    "{{ x is nosuchtest }}", "{% nosuchtag %}", "{% for x in l %}", "{% if t %}{% endfor %}", "{{ 'unclosed }}",
    "{{ (1 }}", "{{ [1, 2 }}", "{{ 1 + }}", "{% set %}", "{% macro m( %}{% endmacro %}", "{{ l | map('nosuch') | list }}",
    "{% set x.y = 1 %}", "{% set s.x = 1 %}", "{{ 'a' in 1 }}", "{{ l | sort(attribute='x') }}",
    "{{ [1, 'a'] | sort }}", "{{ messages | first | tojson }}{{ messages | selectattr('role') | tojson }}",
    "{{ {'a': 1}.x.y }}", "{{ l[1:2:0] }}", "{{ 2 ** 62 }}", "{{ l | last }}{{ (l | select) | last }}",
    "{% include 'x.jinja' %}", "{% break %}", "{{ '%d' % 'x' }}",
]


def main():
    out = []
    for i, src in enumerate(P):
        r = render(src, C, NOW)
        case = {"id": i, "template": src}
        case.update(r)
        out.append(case)
    path = os.path.join(ROOT, "probes.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"schema": "wick-template-probes/1", "context": C, "now": NOW, "cases": out}, f,
                  ensure_ascii=False, indent=1)
        f.write("\n")
    print("%d probes, %d errors" % (len(out), sum("error" in c for c in out)))


if __name__ == "__main__":
    main()
