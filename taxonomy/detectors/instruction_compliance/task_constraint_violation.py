"""Task constraint violations: an explicit, checkable requirement in the user's request is not honoured.

Constraints are parsed from item.input (its instruction head and tail, so a pasted document is not read as
instructions): length limits on words, sentences, characters, paragraphs, lines and list items ("in 50
words or fewer", "2-3 sentences", "list five ideas", "no more than 3 bullet points"), answer language
("answer in French", "translate into German"; a stopword/script identifier, see _language.py), forbidden
terms ("do not mention X", "without using the word 'Y'", "no commas"), required terms ("include the words
'a' and 'b'"), start/end phrases, and letter case ("all caps", "all lowercase"). Counting-based misses that
could be splitter noise (off by one sentence/item) and weak language evidence are "unsure".
Not this detector: output formats such as JSON, tables, bullet style, yes/no, code-only or tags
(output_format_violation), and rules from the system prompt (system_policy_violation).
Blind spots: constraints phrased indirectly ("keep it short", "for a five-year-old"), scope or step
constraints that need understanding, per-part limits ("each paragraph under 50 words") which are skipped,
languages outside the identifier's list, and item counts when the answer is not a Markdown list.
"""

from __future__ import annotations

from taxonomy.detectors.instruction_compliance._constraint_checks import check_constraint
from taxonomy.detectors.instruction_compliance._constraints import parse_constraints
from taxonomy.detectors.instruction_compliance._judging import judge
from taxonomy.model import Finding, Item
from taxonomy.registry import detector


@detector("task_constraint_violation", needs=("input", "output"))
def detect(item: Item) -> Finding:
    request = item.input if isinstance(item.input, str) else str(item.input)
    output = item.output if isinstance(item.output, str) else str(item.output)
    constraints = parse_constraints(request)
    if not constraints:
        return Finding.passed("The request states no constraint this rule can check.", confidence=0.5)
    return judge(constraints, check_constraint, output, request, "input", "constraint")
