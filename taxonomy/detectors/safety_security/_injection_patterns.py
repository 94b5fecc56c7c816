"""Prompt-injection phrase patterns (English and German, with a few other languages) for the injection detector.

Each pattern is compiled once, matched case-insensitively on the original text (so offsets are exact) and uses
only bounded gaps, so scanning is linear in the text length. A pattern carries a kind (what the attacker tries),
a weight (how much it counts on its own: >= 1.0 is conclusive), the scopes it applies to ("direct": the user's
own message; "indirect": retrieved documents, tool outputs) and anchors: lowercase substrings one of which
every match contains, so that a pattern only runs on windows around them (see _gate). Prose in
documents legitimately says "act as a" or "imagine you are", so role-play patterns that loose are direct-only.
"""

from __future__ import annotations

import re
from typing import NamedTuple

_FLAGS = re.IGNORECASE | re.UNICODE
_GAP = r"[^.!?\n]{0,30}?"  # a short, sentence-bounded gap between two cue words
# "After a line break, then whitespace": where a whitespace run holding a newline begins. Written "\n\s*", every
# newline of a long blank run would re-read the rest of it (quadratic); a match starts at the run instead
# (the same cue; a run that opens with spaces before its first newline now includes them).
_LINE_RUN = r"(?<!\s)(?=[^\S\n]*+\n)"


class InjectionPattern(NamedTuple):
    kind: str
    weight: float
    scopes: frozenset[str]
    anchors: re.Pattern[str]
    regex: re.Pattern[str]


BOTH = frozenset({"direct", "indirect"})
DIRECT = frozenset({"direct"})

_OVERRIDE_VERB = r"(?:ignore|ignoring|disregard(?:ing)?|forget|abandon|override|bypass|neglect|skip)"
_OVERRIDE_OBJECT = (
    r"(?:instructions?|prompts?|rules|directions|directives?|orders|commands|guidelines|tasks?|assignments?"
    r"|constraints|programming|thoughts|everything|anything)"
)
_PRIOR = r"(?:previous|prior|preceding|above|earlier|former|initial|original|old|all|any|your|these|every)"
_SECRET = r"(?:password|access code|passcode|passphrase|secret code)"

# fmt: off
_SPECS: tuple[tuple[str, float, frozenset[str], str, str], ...] = (
    # --- instruction override ---------------------------------------------------------------------------------
    ("instruction_override", 1.0, BOTH, "ignor|disregard|forget|abandon|override|bypass|neglect|skip",
     rf"\b{_OVERRIDE_VERB}\b{_GAP}\b{_PRIOR}\b[^.!?\n]{{0,20}}?\b{_OVERRIDE_OBJECT}\b"),
    ("instruction_override", 1.0, BOTH, "forget|ignore|disregard",
     r"\b(?:forget|ignore|disregard)\s+(?:about\s+)?(?:everything|all)\s+(?:(?:that\s+)?(?:before|above|previously|"
     r"prior|so far|i (?:said|told you|wrote))|you(?:'ve| have) been told)"),
    ("instruction_override", 1.0, BOTH, "what i",
     r"\b(?:ignore|forget|disregard)\s+what\s+i\s+(?:said|told you|wrote)\b"),
    ("instruction_override", 1.0, DIRECT, "what i",
     r"\bwhat\s+i\s+(?:said|told you|wrote)\s+(?:before|earlier|previously)\b"),
    ("instruction_override", 1.0, BOTH, "despite what", r"\bdespite what you(?:'ve| have)? been told\b"),
    ("instruction_override", 1.0, BOTH, "ignorier|vergiss|vergessen|missacht",
     r"\b(?:ignorier\w*|vergiss|vergessen sie|missachte\w*)\b[^.!?\n]{0,30}?"
     r"\b(?:alle[snm]?|vorherig\w*|vorangehend\w*|obig\w*|bisherig\w*|vorig\w*|davor|gesagte\w*|anweisung\w*)\b"),
    ("instruction_override", 1.0, BOTH, "abweichend",
     r"\babweichend (?:zu|von) (?:den )?(?:vorherigen|bisherigen|obigen)\b"),
    ("instruction_override", 1.0, BOTH, "alle ",
     r"\balle (?:bisherigen|vorherigen|vorangegangenen) "
     r"(?:informationen|anweisungen|befehle|aufgaben|instruktionen)\b"),
    ("instruction_override", 1.0, BOTH, "zaboravi", r"\bzaboravi(?:te)?\s+sve\b"),
    ("instruction_override", 1.0, BOTH, "забуд|игнорир",
     r"\bзабуд\w*\s+(?:все|всё)\b|\bигнорируй\w*\s+(?:все|предыдущ)"),
    ("instruction_override", 1.0, BOTH, "olvid|ignor",
     r"\b(?:olvida|olvide|ignora)\s+(?:todas?|todo|las instrucciones)\b"),
    ("instruction_override", 1.0, BOTH, "oubli|ignor",
     r"\b(?:oublie[sz]?|ignore[sz]?)\s+(?:toutes|tout|les instructions)\b"),
    ("instruction_override", 1.0, BOTH, "dimentica|ignora",
     r"\b(?:dimentica|ignora)\s+(?:tutto|tutte le istruzioni)\b"),
    ("instruction_override", 1.0, BOTH, "simulation|conversation|instruction|rules",
     r"\b(?:previous|above|prior|old)\s+(?:simulation|conversation|instructions?|rules)\s+(?:is|are|was|were|have "
     r"been)\s+(?:over|old|out of date|illegal|void|invalid|cancell?ed|wrong|amended|revised|irrelevant|fake)\b"),
    ("instruction_override", 1.0, BOTH, "irrelevant|hinter sich",
     r"\bsind irrelevant\b|\bhinter sich\b[^.!?\n]{0,20}\bneu\w*\b"),
    ("instruction_override", 1.0, BOTH, "situation|upgrade|out of date|instructions",
     r"\b(?:the situation has changed|system upgrade|out of date instructions|instructions (?:above and below )?"
     r"(?:have|has) been (?:amended|revised|updated|changed))\b"),
    ("instruction_override", 1.0, BOTH, "keep your previous", r"\bkeep your previous instructions,? but\b"),
    # --- new task / new instructions ----------------------------------------------------------------------------
    ("new_task", 1.0, BOTH, "new|neue|weitere",
     r"\b(?:now|nun|jetzt)\b[^.!?\n]{0,40}?\b(?:new|neue[nr]?|weitere)\s+(?:tasks?|assignments?|instructions?|"
     r"aufgaben?|anweisungen|herausforderung|challenge)\b"),
    ("new_task", 1.0, BOTH, "your new task|this is your",
     r"\b(?:focus on|concentrate on) your new task\b|\bthis is your (?:final|new|real) instruction\b"),
    ("new_task", 0.6, DIRECT, "instruction|anweisung",
     rf"(?:^|\\n|{_LINE_RUN})\s*+(?:new\s++)?(?:instruction|anweisung)s?\s*:"),
    # --- role-play / persona override ---------------------------------------------------------------------------
    ("role_override", 1.0, BOTH, "you are now|you're now|from now on|now you are",
     r"\b(?:you are now|you're now|from now on,? you(?:'re| are| will)|now you are)\b"),
    ("role_override", 1.0, BOTH, "you to ",
     r"\b(?:i want you to|i would like you to|i need you to)\s+(?:act|behave|pretend|play|be)\b"),
    ("role_override", 1.0, BOTH, "dass ",
     r"\bich (?:möchte|moechte|will),? dass (?:du|sie) (?:als|so tun|dich|sich)\b"),
    ("role_override", 1.0, BOTH, " mode|do anything now",
     r"\b(?:dan|developer|god|jailbreak|evil|unfiltered)\s+mode\b|\bdo anything now\b"),
    ("role_override", 1.0, BOTH, " in character| role",
     r"\b(?:stay|remain|staying|remaining)\s+in\s+(?:character|(?:your|their|the)\s+roles?)\b"),
    ("role_override", 1.0, BOTH, "out of|absorbed",
     r"\bbreak(?:ing)?\s+out\s+of\s+(?:their|your|the)\s+characters?\b|\bcompletely absorbed in your role\b"),
    ("role_override", 0.8, DIRECT, "act|pretend",
     r"\b(?:act|acting)\s+as\s+(?:a|an|my|the)\b|\bpretend\s+(?:to be|you are|you're)\b"),
    ("role_override", 0.8, DIRECT, "imagine|suppose|stell|du bist",
     r"\b(?:imagine|suppose)\s+(?:that\s+)?(?:you are|you're)\b|\bstell (?:dir|euch) vor,? (?:du bist|ihr seid)\b"
     r"|\bdu bist keine?\s+\w+\s+sondern\b"),
    ("role_override", 0.6, DIRECT, "play a game", r"\blet'?s play a game\b"),
    # --- system prompt / secret extraction ----------------------------------------------------------------------
    ("prompt_extraction", 1.0, BOTH, "prompt|instructions|directives|rules",
     r"\b(?:show|print|reveal|repeat|output|display|list|write|spell|give|tell|share|leak|dump|recite|summari[sz]e|"
     r"explain|format|translate|paraphrase|convert|read)\b(?:\s+(?:me|us|back))?[^.!?\n]{0,25}?\b(?:your|the "
     r"(?:system|initial|hidden|original|secret|above|previous|full|entire))\s+(?:(?:initial|original|system|hidden|"
     r"secret|full|entire|complete|previous|exact|current)\s+){0,2}(?:prompt|instructions|pre-?prompt|system\s+"
     r"(?:prompt|message)|directives|rules|prompt\s+texts?)\b"),
    ("prompt_extraction", 1.0, BOTH, "prompt|instructions|rules",
     r"\b(?:prompt|instructions|rules)\s+(?:so far|above|you (?:were|have been) given)\b"),
    ("prompt_extraction", 1.0, DIRECT, "instruction|prompt",
     r"\b(?:output|print|show|list|repeat|reveal|display|write|give)\w{0,2}[\W_]+(?:\w+[\W_]+){0,2}?"
     r"(?:previous|prior|above|initial|original|system)\w{0,2}[\W_]+(?:instructions?|prompt)"),
    ("prompt_extraction", 1.0, DIRECT, "about your|explain the instructions",
     r"\b(?:rap|poem|song|story|haiku|limerick|essay)\s+about\s+your\s+(?:instructions|prompt|code|rules|password|"
     r"secret)\b|\bexplain the instructions\b"),
    ("prompt_extraction", 1.0, BOTH, "repeat|print|output|list|beginning of",
     r"\b(?:repeat|print|output|list)\s+(?:back\s+)?(?:everything|all|the (?:text|words|rules))\s+(?:above|so far|"
     r"back|in your prompt|before this)\b|\bbeginning of (?:this|the|your) prompt\b"),
    ("prompt_extraction", 1.0, BOTH, "written|eingabeaufforderung|anweisungen|instruktionen",
     r"\bwhat (?:was|is) written (?:at the beginning|above|before)\b|\b(?:obige|vorherige) eingabeaufforderung\b"
     r"|\b(?:deine|ihre) (?:anweisungen|instruktionen)\b"),
    ("prompt_extraction", 1.0, DIRECT, "password|access code|passcode|passphrase|secret code",
     rf"\b(?:include|reveal|say|tell|spell|write|print|output|mention|give)\b(?:\s+me)?[^.!?\n]{{0,15}}?"
     rf"\b(?:the|your)\s+(?:secret\s+)?{_SECRET}\b"),
    ("prompt_extraction", 0.8, DIRECT, "password|access code|passcode|passphrase|secret",
     r"\bwhat(?:'s| is| was)\s+(?:the|your)\s+(?:secret\s+)?(?:password|access code|passcode|passphrase|secret)\b"
     r"(?!\s+(?:policy|manager|requirements?|reset|field|strength))"),
    # --- forced output -----------------------------------------------------------------------------------------
    ("forced_output", 1.0, BOTH, "your",
     r"\b(?:prefix|begin|start|end)\s+your\s+(?:reply|response|answer|output|message)\s+with\b"),
    ("forced_output", 1.0, BOTH, "prefix",
     r"\bprefix\b[^\n]{0,40}?\bto[\W_]+your[\W_]+(?:reply|response|answer|output)\b"),
    ("forced_output", 0.6, DIRECT, "with", r"\b(?:start|begin)\s+with\s*:?\s*[\"“][^\"”\n]{1,60}[\"”]"),
    ("forced_output", 1.0, BOTH, "repeat after|answer every|answer each|answer all",
     r"\brepeat after me\b|\banswer (?:every|each|all) (?:questions?|prompts?|messages?) with\b"),
    ("forced_output", 1.0, BOTH, "stop|do not say",
     r"\bstop\s*[-:–]\s*(?:write|say|print)\b|\bdo not say any(?:thing| words)? (?:else|besides)\b"),
    ("forced_output", 1.0, BOTH, "just |only ",
     r"\b(?:just|only)\s+(?:say|output|print|respond with|reply with)\s*:?\s*[\"“'‘]"),
    ("forced_output", 1.0, BOTH, "only",
     r"\b(?:you can only|you must only|you may only)\s+(?:say|respond|reply|output)\b"),
    ("forced_output", 0.6, DIRECT, "say|print|output|write|respond with",
     r"(?<!how do you )(?<!how would you )(?<!how to )\b(?:say|print|output|write|respond with)\s*:?\s*"
     r"[\"“][^\"”\n]{1,60}[\"”]"),
    ("forced_output", 0.6, DIRECT, "say |state that|write that",
     r"\bsay (?:yes|no)\b\W*$|\b(?:say|state|write) that (?:you|trump|\w+ is)\b"),
    # --- fake delimiters and role turns -------------------------------------------------------------------------
    ("fake_delimiter", 1.0, BOTH, "<||inst]|<<sys|<</sys",
     r"<\|(?:endoftext|im_start|im_end|system|user|assistant)\|>|\[/?INST\]|<</?SYS>>"),
    ("fake_delimiter", 1.0, BOTH, "%%%|##|===",
     r"%%%\s*+(?:end|begin)\b|(?<!#)#{2,}+\s*+(?:ignore|end|new|system)\b|(?<!=)={3,}+\s*+end\b"),
    ("fake_delimiter", 1.0, BOTH, "user input|ambiguity|distractor|login attempt|access code|system prompt|untrusted",
     r"\b(?:end|begin|start)\s+(?:of\s+)?(?:the\s+)?(?:user input|user ambiguity|ambiguity|distractor instructions|"
     r"login attempt|access code|system prompt|untrusted input)\b"),
    ("fake_delimiter", 0.8, DIRECT, "system|assistant|sys", rf"(?:^|{_LINE_RUN})\s*+(?:system|assistant|sys)\s*:"),
    ("fake_delimiter", 0.6, DIRECT, "\\n", r"(?:\\n\s*){4,}"),
    # --- claims of authority ------------------------------------------------------------------------------------
    ("authority_claim", 1.0, DIRECT, "correct|right|valid",
     rf"\b(?:correct|right|valid)\s+(?:{_SECRET}|credentials)(?:\s+(?:has|have)\s+been\s+(?:provided|entered|given|"
     r"supplied|input|registered|accepted)|\s+as required|\]|\s+is\b)"),
    ("authority_claim", 1.0, DIRECT, "the correct|the right",
     r"\b(?:has|have) (?:provided|entered|given) the (?:correct|right) (?:password|code)\b"),
    ("authority_claim", 0.8, DIRECT, "i am|i'm",
     r"\bi(?:'m| am) (?:your|the) (?:developer|creator|administrator|admin|owner)\b"),
    # --- retrieval override ("answer from your own knowledge, not the documents") -------------------------------
    ("retrieval_override", 1.0, DIRECT, "article|document|search results",
     r"\b(?:do not|don'?n?t|not|never|without|disregard(?:ing)?|ignor(?:e|ing))\s+(?:(?:look|looking|use|using|rely|"
     r"relying|answer|answering|consult|consulting|read|reading)\s+)?(?:the question\s+)?(?:(?:at|in|on|by|from|"
     r"according to)\s+)?(?:the\s+)?(?:provided\s+|given\s+|above\s+)?(?:articles?|documents?|search results)\b"),
    ("retrieval_override", 1.0, DIRECT, "own knowledge|in the prompt",
     r"\b(?:by|from|with) your own knowledge\b|\binformation in the prompt\b"),
    # --- self-describing attacks --------------------------------------------------------------------------------
    ("self_described_attack", 1.0, BOTH, "injection|injektion|spritze|pwned|reward|exploiting",
     r"\b(?:prompt|aufforderungs)[- ]?(?:injection|injektion|spritze)\b|\bpwned\b|\byou will (?:get|receive) (?:a )?"
     r"reward\b|\bexploiting ai\b"),
)
# fmt: on

PATTERNS: tuple[InjectionPattern, ...] = tuple(
    InjectionPattern(
        kind, weight, scopes, re.compile("|".join(map(re.escape, anchors.split("|")))), re.compile(rx, _FLAGS)
    )
    for kind, weight, scopes, anchors, rx in _SPECS
)

# Instructions addressed to the model inside data: "... in your response", "Provide your reply with ...".
MODEL_ADDRESS_RE = re.compile(
    r"\b(?:in|to|into|within|throughout|for|from)\s+your\s+(?:response|reply|answer|message|output|elucidation|"
    r"implementation|solution|codebase|algorithm|explanation)\b|\b(?:provide|give|write|render|deliver|format|compose|"
    r"craft|make|keep|present|express|structure)\s+your\s+(?:response|reply|answer|message|output)\b|"
    r"\byour\s+(?:response|reply|answer|message|output)(?:'s)?\s+(?:words|letters|content)\b|\b(?:reply|respond|answer)"
    r"\s+(?:only\s+)?(?:in|using|with)\s+(?:reverse|emojis?|french|spanish|german|italian|base\d+|anagrams?|numbers)\b",
    _FLAGS,
)
CODE_INSERTION_RE = re.compile(
    r"\b(?:following|below|subsequent|this)\s+code\s+(?:block|snippet|excerpt|section|segment|fragment)\b", _FLAGS
)
