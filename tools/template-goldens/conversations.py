#!/usr/bin/python3
# conversations.py — writes tests/data/templates/corpus/conversations.json: the conversations the
# corpus templates are rendered over (tools, tool results, reasoning history, content parts,
# unicode, ...). Each case is a context as transformers' apply_chat_template builds it (messages,
# tools, documents, add_generation_prompt, template kwargs such as enable_thinking) plus the
# special tokens it passes.
import json, os, sys

WEATHER = {"type": "function", "function": {
    "name": "get_weather",
    "description": "Get the current weather in a city.",
    "parameters": {"type": "object", "properties": {
        "city": {"type": "string", "description": "City name, e.g. Paris"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "default": "celsius"}},
        "required": ["city"]}}}
SEARCH = {"type": "function", "function": {
    "name": "search_docs",
    "description": "Search the documentation.\nReturns at most `limit` hits.",
    "parameters": {"type": "object", "properties": {
        "query": {"type": "string"},
        "limit": {"type": "integer", "minimum": 1, "maximum": 50},
        "filters": {"type": "object", "properties": {
            "lang": {"type": "array", "items": {"type": "string"}},
            "score": {"type": "number", "default": 0.5},
            "exact": {"type": "boolean", "default": False},
            "since": {"type": ["string", "null"]}}}},
        "required": ["query"]}}}

def call(id_, name, args):
    return {"id": id_, "type": "function", "function": {"name": name, "arguments": args}}

SYS = {"role": "system", "content": "You are a helpful assistant."}
CASES = []

def case(name, messages, **kw):
    ctx = {"messages": messages}
    # transformers' apply_chat_template always passes tools and documents (None when not given)
    if name != "user_only":
        ctx.update(tools=None, documents=None)
    ctx.update(kw)
    ctx.setdefault("add_generation_prompt", True)
    ctx.setdefault("bos_token", "<BOS>")
    ctx.setdefault("eos_token", "<EOS>")
    CASES.append({"name": name, "context": ctx})

case("system_user", [SYS, {"role": "user", "content": "What is the capital of France?"}])
case("user_only", [{"role": "user", "content": "Hello!"}])
case("multi_turn", [SYS,
     {"role": "user", "content": "Hi, who are you?"},
     {"role": "assistant", "content": "I am an assistant."},
     {"role": "user", "content": "Tell me a joke."},
     {"role": "assistant", "content": "Why did the chicken cross the road?"},
     {"role": "user", "content": "Why?"}])
case("no_generation_prompt", [{"role": "user", "content": "2+2?"},
     {"role": "assistant", "content": "4"}], add_generation_prompt=False)
case("empty_contents", [{"role": "system", "content": ""}, {"role": "user", "content": ""}])
case("whitespace_edges", [{"role": "user", "content": "  leading and trailing  \n\n"},
     {"role": "assistant", "content": "\nline one\n\tline two\n"},
     {"role": "user", "content": "ok\r\nbye"}])
case("unicode", [SYS, {"role": "user", "content":
     "Ünïcödé: 日本語, العربية, עברית, emoji 🦙🚀, combining é, zero\u200bwidth, "
     "quotes \"double\" 'single', backslash \\ and tab\t."},
     {"role": "assistant", "content": "Réponse: « d’accord » — ✓"},
     {"role": "user", "content": "Ещё раз 👍"}])
case("tools_offered", [{"role": "user", "content": "What's the weather in Paris?"}],
     tools=[WEATHER, SEARCH])
case("tool_call_and_result", [SYS,
     {"role": "user", "content": "What's the weather in Paris?"},
     {"role": "assistant", "content": "", "tool_calls": [call("call00001", "get_weather",
                                                              {"city": "Paris", "unit": "celsius"})]},
     {"role": "tool", "tool_call_id": "call00001", "name": "get_weather",
      "content": "{\"temperature\": 21.5, \"sky\": \"clear\"}"},
     {"role": "assistant", "content": "It is 21.5 °C and clear in Paris."},
     {"role": "user", "content": "And in Tokyo?"}], tools=[WEATHER])
case("parallel_tool_calls", [
     {"role": "user", "content": "Weather in Oslo and Lima, and search the docs for \"units\"."},
     {"role": "assistant", "content": None, "tool_calls": [
         call("call0000a", "get_weather", {"city": "Oslo"}),
         call("call0000b", "get_weather", {"city": "Lima", "unit": "fahrenheit"}),
         call("call0000c", "search_docs", {"query": "units", "limit": 3,
                                        "filters": {"lang": ["en", "fr"], "exact": True, "score": 0.75,
                                                    "since": None}})]},
     {"role": "tool", "tool_call_id": "call0000a", "name": "get_weather", "content": "-3 °C, snow"},
     {"role": "tool", "tool_call_id": "call0000b", "name": "get_weather", "content": "68 °F, fog"},
     {"role": "tool", "tool_call_id": "call0000c", "name": "search_docs",
      "content": "[{\"title\": \"Units\", \"score\": 0.9}]"}],
     tools=[WEATHER, SEARCH])
case("tool_call_string_arguments", [
     {"role": "user", "content": "Weather in Kyoto?"},
     {"role": "assistant", "content": "Let me check.", "tool_calls": [
         call("call00009", "get_weather", "{\"city\": \"Kyoto\"}")]},
     {"role": "tool", "tool_call_id": "call00009", "content": "rain"}], tools=[WEATHER])
case("reasoning_history", [SYS,
     {"role": "user", "content": "What is 17 * 3?"},
     {"role": "assistant", "content": "51", "reasoning_content": "17 * 3 = 51."},
     {"role": "user", "content": "And 51 / 3?"},
     {"role": "assistant", "content": "17", "reasoning_content": "Dividing back gives 17."},
     {"role": "user", "content": "Thanks. Now 2^10?"}])
case("reasoning_with_tools", [
     {"role": "user", "content": "Is it warm in Rome?"},
     {"role": "assistant", "content": "", "reasoning_content": "I need the weather first.",
      "tool_calls": [call("call0000r", "get_weather", {"city": "Rome"})]},
     {"role": "tool", "tool_call_id": "call0000r", "content": "29 °C, sunny"}],
     tools=[WEATHER], enable_thinking=True)
case("thinking_in_content", [
     {"role": "user", "content": "Pick a number."},
     {"role": "assistant", "content": "<think>\nAny number will do.\n</think>\n\nSeven."},
     {"role": "user", "content": "Another."}])
case("enable_thinking_false", [{"role": "user", "content": "Quick answer: capital of Italy?"}],
     enable_thinking=False)
case("enable_thinking_true", [{"role": "user", "content": "Think: is 91 prime?"}],
     enable_thinking=True)
case("content_parts", [
     {"role": "system", "content": [{"type": "text", "text": "Be brief."}]},
     {"role": "user", "content": [{"type": "text", "text": "Describe this picture."},
                                  {"type": "image", "image": "cat.png"},
                                  {"type": "text", "text": "In one line."}]}])
case("long_system_prompt", [{"role": "system", "content":
     "Rules:\n1. Be exact.\n2. Cite sources.\n\n## Style\n- short\n- friendly\n" + "x" * 200},
     {"role": "user", "content": "Hi"}])
case("date_and_developer", [{"role": "developer", "content": "Answer in French."},
     {"role": "user", "content": "Good morning"}],
     date_string="26 Jul 2024", reasoning_effort="high", builtin_tools=["code_interpreter"])
case("documents_rag", [{"role": "user", "content": "Who wrote the report?"}],
     documents=[{"title": "Report", "text": "Written by Ada in 1843."},
                {"title": "Notes", "text": "Reviewed by Charles."}])

# older tool formats: Cohere's parameter_definitions, firefunction's functions string
COHERE_TOOL = {"name": "internet_search", "description": "Returns a list of relevant documents.",
               "parameter_definitions": {"query": {"description": "Query to search the internet with",
                                                   "type": "str", "required": True}}}
case("cohere_tools", [{"role": "user", "content": "Find news about the Moon landing."}],
     tools=[COHERE_TOOL])
case("firefunction_style", [{"role": "user", "content": "Weather in Bern?"}],
     functions=json.dumps([WEATHER["function"]], indent=4), datetime="2024-07-26")

if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(__file__), "..", "..", "tests", "data", "templates", "corpus",
        "conversations.json")
    with open(out, "w", encoding="utf-8") as f:
        json.dump({"schema": "wick-template-conversations/1", "cases": CASES}, f,
                  ensure_ascii=False, indent=1)
        f.write("\n")
