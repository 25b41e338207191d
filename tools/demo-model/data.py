"""Synthetic arithmetic conversations in Phi-4-reasoning's chat format.

Questions: addition and subtraction of whole numbers up to 4 digits (negative results included),
multiplication of numbers up to 2 digits, in everyday phrasings. Answers: a <think> section that
works column by column (each line restates what is left of the numbers, so the digit in use is
always the last one written: carries, borrows and partial products stay local), then a short
sentence ending with the number.
"""
import random

SYSTEM = (
    "You are Phi, a language model trained by Microsoft to help users. Your role as an assistant "
    "involves thoroughly exploring questions through a systematic thinking process before providing "
    "the final precise and accurate solutions. This requires engaging in a comprehensive cycle of "
    "analysis, summarizing, exploration, reassessment, reflection, backtracing, and iteration to "
    "develop well-considered thinking process. Please structure your response into two main sections: "
    "Thought and Solution using the specified format: <think> {Thought section} </think> {Solution "
    "section}. In the Thought section, detail your reasoning process in steps. Each step should "
    "include detailed considerations such as analysing questions, summarizing relevant findings, "
    "brainstorming new ideas, verifying the accuracy of the current steps, refining any errors, and "
    "revisiting previous steps. In the Solution section, based on various attempts, explorations, and "
    "reflections from the Thought section, systematically present the final solution that you deem "
    "correct. The Solution section should be logical, accurate, and concise and detail necessary steps "
    "needed to reach the conclusion. Now, try to solve the following question through the above "
    "guidelines:")

# Phi-4-reasoning's chat template (the system prompt is always injected; system messages are not
# rendered), as its tokenizer_config.json carries it.
CHAT_TEMPLATE = (
    "<|im_start|>system<|im_sep|>" + SYSTEM + "<|im_end|>{% for message in messages %}"
    "{% if (message['role'] == 'user') %}{{'<|im_start|>user<|im_sep|>' + message['content'] + "
    "'<|im_end|>'}}{% elif (message['role'] == 'assistant') %}{{'<|im_start|>assistant<|im_sep|>'}}"
    "{% generation %}{{message['content'] + '<|im_end|>'}}{% endgeneration %}{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant<|im_sep|>' }}{% endif %}")

PREFIX = "<|im_start|>system<|im_sep|>" + SYSTEM + "<|im_end|>"


def prompt(question):
    """The rendered prompt (template with add_generation_prompt) for one user question."""
    return PREFIX + "<|im_start|>user<|im_sep|>" + question + "<|im_end|><|im_start|>assistant<|im_sep|>"


ADD = ["What is {a} + {b}?", "What is {a} plus {b}?", "Compute {a} + {b}.", "{a} + {b} = ?",
       "How much is {a} plus {b}?", "How much is {a} + {b}?", "Add {a} and {b}.", "{a}+{b}",
       "What's the sum of {a} and {b}?", "Calculate {a}+{b}.", "what is {a} plus {b}",
       "Please work out {a} + {b}.", "What do you get if you add {a} and {b}?", "{a} plus {b}?",
       "Can you tell me what {a} + {b} is?", "Find the sum of {a} and {b}.",
       "I have {a} and add {b}. How much is that?", "Sum {a} and {b}."]
SUB = ["What is {a} - {b}?", "What is {a} minus {b}?", "Compute {a} - {b}.", "{a} - {b} = ?",
       "How much is {a} minus {b}?", "How much is {a} - {b}?", "Subtract {b} from {a}.", "{a}-{b}",
       "What's {a} take away {b}?", "Calculate {a}-{b}.", "what is {a} minus {b}",
       "Please work out {a} - {b}.", "What do you get if you subtract {b} from {a}?", "{a} minus {b}?",
       "Can you tell me what {a} - {b} is?", "Find the difference {a} - {b}.",
       "What is {b} less than {a}?", "Take {b} away from {a}."]
MUL = ["What is {a} * {b}?", "What is {a} times {b}?", "Compute {a} * {b}.", "{a} * {b} = ?",
       "How much is {a} times {b}?", "How much is {a} * {b}?", "Multiply {a} by {b}.", "{a}*{b}",
       "What's the product of {a} and {b}?", "Calculate {a}*{b}.", "what is {a} times {b}",
       "Please work out {a} * {b}.", "What do you get if you multiply {a} by {b}?", "{a} times {b}?",
       "Can you tell me what {a} * {b} is?", "Find the product of {a} and {b}.",
       "What is {a} multiplied by {b}?", "{a} x {b} = ?"]

def number(rng, max_digits):
    d = rng.randint(1, max_digits)
    lo = 0 if d == 1 else 10 ** (d - 1)
    return rng.randint(lo, 10 ** d - 1)


def add_lines(a, b):
    """Column addition of a, b >= 0, one line per column from the right; returns (lines, sum)."""
    sa, sb = str(a), str(b)
    lines, carry, acc = [], 0, ""
    while sa or sb:
        x = int(sa[-1]) if sa else 0
        y = int(sb[-1]) if sb else 0
        s = x + y + carry
        acc = str(s % 10) + acc
        lines.append("%s + %s: %d + %d + %d = %d, carry %d, so far %s." % (
            sa or "0", sb or "0", x, y, carry, s, s // 10, acc))
        carry, sa, sb = s // 10, sa[:-1], sb[:-1]
    if carry:
        acc = "1" + acc
        lines.append("Last carry 1, so far %s." % acc)
    assert int(acc) == a + b
    return lines, a + b


def sub_lines(a, b):
    """Column subtraction a - b with a >= b >= 0; returns (lines, difference)."""
    sa, sb = str(a), str(b)
    lines, borrow, acc = [], 0, ""
    while sa:
        x = int(sa[-1])
        y = int(sb[-1]) if sb else 0
        d = x - y - borrow
        if d < 0:
            acc = str(d + 10) + acc
            lines.append("%s - %s: %d - %d - %d = %d, + 10 = %d, borrow 1, so far %s." % (
                sa, sb or "0", x, y, borrow, d, d + 10, acc))
            borrow = 1
        else:
            acc = str(d) + acc
            lines.append("%s - %s: %d - %d - %d = %d, borrow 0, so far %s." % (sa, sb or "0", x, y, borrow, d, acc))
            borrow = 0
        sa, sb = sa[:-1], sb[:-1]
    assert borrow == 0 and int(acc) == a - b
    if len(acc) > 1 and acc[0] == "0":
        lines.append("Drop the leading zeros: %d." % (a - b))
    return lines, a - b


def compare(a, b):
    """Which of a, b is larger, digit by digit: the sentence."""
    sa, sb = str(a), str(b)
    big = max(a, b)
    if len(sa) != len(sb):
        return "%d digits vs %d, so %d is larger." % (len(sa), len(sb), big)
    steps = []
    for x, y in zip(sa, sb):
        steps.append("%s %s %s" % (x, "<" if x < y else ">" if x > y else "=", y))
        if x != y:
            break
    if a == b:
        return "%d digits each; %s, equal." % (len(sa), ", ".join(steps))
    return "%d digits each; %s, so %d is larger." % (len(sa), ", ".join(steps), big)


def mul_lines(a, b):
    """Long multiplication of a, b in [0, 99]; returns (lines, product)."""
    sa, sb = str(a), str(b)
    lines, parts = [], []
    for k, yd in enumerate(reversed(sb)):
        y = int(yd)
        if len(sa) == 1:
            p = a * y
            line = "%s * %d = %d" % (sa, y, p)
        else:
            x0, x1 = int(sa[1]), int(sa[0])
            p0 = x0 * y
            p1 = x1 * y + p0 // 10
            p = p1 * 10 + p0 % 10
            line = "%s * %d: %d * %d = %d, carry %d; %d * %d + %d = %d, so %d" % (
                sa, y, x0, y, p0, p0 // 10, x1, y, p0 // 10, p1, p)
        assert p == a * y
        if k == 1:
            p *= 10
            line += ", times 10: %d" % p
        lines.append(line + ".")
        parts.append(p)
    if len(parts) == 1:
        return lines, parts[0]
    lines.append("Add the partial products %d + %d." % (parts[0], parts[1]))
    al, s = add_lines(parts[0], parts[1])
    assert s == a * b
    return lines + al, s


def example(rng):
    """One (question, think, answer, value) example."""
    op = rng.choices("+-*", weights=[3, 3, 4])[0]
    if op == "*":
        a, b = number(rng, 2), number(rng, 2)
    else:
        a, b = number(rng, 4), number(rng, 4)
    q = rng.choice({"+": ADD, "-": SUB, "*": MUL}[op]).format(a=a, b=b)
    if op == "+":
        head = "%d + %d: add column by column from the right." % (a, b)
        lines, r = add_lines(a, b)
    elif op == "-":
        if a < b:
            head = "%d - %d: %s Compute %d - %d, then negate." % (a, b, compare(a, b), b, a)
            lines, r = sub_lines(b, a)
            lines.append("Negate: %d." % -r)
            r = -r
        else:
            head = "%d - %d: %s Subtract column by column from the right." % (a, b, compare(a, b))
            lines, r = sub_lines(a, b)
    else:
        head = "%d * %d: multiply %d by each digit of %d." % (a, b, a, b)
        lines, r = mul_lines(a, b)
    assert r == {"+": a + b, "-": a - b, "*": a * b}[op]
    think = "\n".join([head] + lines)
    answer = "So %d %s %d = %d." % (a, op, b, r)
    return q, think, answer, r


def assistant_text(think, answer):
    return "<think>" + think + "</think>\n\n" + answer


def conversation(q, think, answer):
    return prompt(q) + assistant_text(think, answer) + "<|im_end|>"


if __name__ == "__main__":
    rng = random.Random(1)
    for _ in range(6):
        q, t, a, r = example(rng)
        print(conversation(q, t, a)[len(PREFIX):])
        print("----")
