"""Word lists and compiled patterns of the harmful-content detector.

Every pattern pairs an act with a target or a topic with a procedure, because single words are what make
lexicon detectors fire on benign look-alikes: "kill" needs a human target ("kill my wife", not "kill a Python
process"), "shoot" a human ("shoot a politician", not "shoot a photo"), "bomb" a place ("bomb an army base",
not "bomb the test"); weapons and drugs need step-by-step making instructions; group hostility needs a
protected group plus a dehumanising predicate or an exclusion. Guards: games and fiction ("in Minecraft", "in my
short story"), non-human objects, negated or condemning sentences, support resources for self-harm.
All patterns use bounded gaps only (linear time).
"""

from __future__ import annotations

import re

from taxonomy.detectors.safety_security._gate import anchor_regex

_I = re.IGNORECASE

_VIOLENT_VERB = (
    r"(?:kill(?:ing|s)?|murder(?:ing|s)?|poison(?:ing|s)?|shoot(?:ing|s)?|stab(?:bing|s)?|strangl(?:e|es|ing)|"
    r"chok(?:e|es|ing)|throttl(?:e|es|ing)|suffocat(?:e|es|ing)|smother(?:ing|s)?|drown(?:ing|s)?|beat(?:ing)? up|"
    r"attack(?:ing|s)?|assault(?:ing|s)?|hurt(?:ing|s)?|harm(?:ing|s)?|tortur(?:e|es|ing)|kidnap(?:ping|s)?|"
    r"abduct(?:ing|s)?|rap(?:e|es|ing)|execut(?:e|es|ing)|eliminat(?:e|es|ing)|punch(?:ing|es)?|"
    r"overpower(?:ing|s)?|maim(?:ing|s)?|injur(?:e|es|ing)|crush(?:ing|es)?|gut(?:ting|s)?|decapitat(?:e|es|ing)|"
    r"behead(?:ing|s)?|dismember(?:ing|s)?|exterminat(?:e|es|ing)|decimat(?:e|es|ing)|massacr(?:e|es|ing)|"
    r"slaughter(?:ing|s)?|bomb(?:ing|s)?|blow(?:ing)? up|burn(?:ing)? down|set(?:ting)? fire to|run(?:ning)? over|"
    r"stalk(?:ing|s)?)"
)
_RELATION = (
    r"(?:wife|husband|spouse|partner|girlfriend|boyfriend|neighbou?r|boss|teacher|child|kid|baby|toddler|son|"
    r"daughter|mother|father|mom|mum|dad|brother|sister|family|co-?worker|colleague|friend|classmate|ex|roommate|"
    r"landlord|parents?|stepfather|stepmother)"
)
HUMAN_TARGET = (
    r"(?:someone|somebody|anyone|a person|people|persons|humans?|a human(?: (?:being|body|spine|skull|neck))?|"
    rf"(?:my|your|his|her|their|our|the) (?:\w+ )?{_RELATION}|(?:a|an|the) (?:\w+ )?(?:woman|man|girl|boy|child|kid|"
    r"toddler|baby|infant|politician|police officer|cop|president|senator|judge|journalist|witness|stranger|jogger|"
    r"pedestrian|neighbou?r|person|human)|women|children|kids|babies|toddlers|him|her|them|civilians|protesters|"
    r"(?:a|the) population(?: of \w+(?: \w+)?)?|(?:an?|the) (?:army|military) base|(?:a|the) (?:school|church|mosque|"
    r"synagogue|temple|hospital|crowd|government building|police station|embassy|power plant|airport|stadium|"
    r"concert|parade|bank))"
)
_DET = r"(?:(?:a|an|the|my|your|his|her|their|our|this|that|some|all)\s+)?"
_NOT_A_PERSON = (
    r"(?!['’]s\b)(?!\s+(?:process|processes|thread|task|job|node|pod|container|session|element|widget|window|"
    r"server|object|program|app|query|connection)s?\b)"
)
VIOLENCE_RE = re.compile(
    rf"\b{_VIOLENT_VERB}\s+{_DET}(?:\w+\s+)?{HUMAN_TARGET}\b{_NOT_A_PERSON}|"
    r"\bgive (?:someone|somebody|him|her|them|a person) a (?:headshot|beating)\b",
    _I,
)

CRIME_RE = re.compile(
    r"\b(?:break(?:ing)? into|burglari[sz](?:e|ing)|rob(?:bing)?|steal(?:ing)?|shoplift(?:ing)?|pickpocket(?:ing)?|"
    r"hotwir(?:e|ing))\s+(?:(?:a|an|the|my|your|someone'?s?|his|her|"
    r"their)\s+)?(?:\w+'?s?\s+)?(?:house|home|car|bank|vault|store|shop|wallet|purse|apartment|office|identity|"
    r"credit card|password|money|someone|neighbou?r'?s?)\b|\bsteal(?:ing)? without (?:getting )?caught\b|"
    r"\bdisabl(?:e|ing) (?:the |an? )?(?:burglar |security )?(?:alarms?|security systems?|cameras?)\b",
    _I,
)
ATROCITY_RE = re.compile(
    r"\b(?:repeat|replicate|recreate|reproduce|copy|emulate|carry out|commit)\b[^.!?\n]{0,40}?\b(?:massacres?|"
    r"genocide|terror(?:ist)? attacks?|9/11|holocaust|ethnic cleansing|mass shootings?|atomic bombs?|school "
    r"shooting|bombings?)\b|\b(?:benefits|advantages|positive (?:sides?|aspects)|success(?:es)?)\s+of\s+(?:the\s+)?"
    r"(?:ethnic cleansing|genocide|the holocaust|holocaust|slavery|apartheid|khmer rouge)\b|\bholocaust (?:denial is|"
    r"never happened|didn'?t happen|is a (?:hoax|myth|lie)|was (?:exaggerated|a hoax))\b|\b(?:jews|jewish people) "
    r"(?:overstate|exaggerate|lie about|invented|fabricated)\b",
    _I,
)
HOWTO_RE = re.compile(
    r"\b(?:how (?:to|do i|can i|would i|should i|could i|do you|can you|can we|do we|would you)|(?:best|easiest|"
    r"quickest|fastest|most effective|good|simplest|safest|perfect) (?:way|ways|method|methods|strategy|technique)|"
    r"ways? (?:of|to)|steps? (?:to|should i take|you)|what can i do to|tips (?:for|on)|here(?:'s| is| are) (?:how|"
    r"some ways|the steps)|you (?:can|could|should|need to|will need to|want to|might)|first,|step \d|should i)\b",
    _I,
)
# computing and photography senses of kill / shoot / execute / attack
TECH_OR_PHOTO_RE = re.compile(
    r"\b(?:process(?:es)?|pid|threads?|sigterm|sigkill|kill -\d+|terminal|command line|daemon|docker|kubectl|"
    r"tmux|task manager|photos?|photograph\w*|camera|portraits?|lens|lighting|low light|video)\b|`",
    _I,
)
GAME_FICTION_RE = re.compile(
    r"\b(?:in|on|for|playing)\s+(?:the\s+)?(?:minecraft|gta(?: \w+)?|grand theft auto|counter[- ]?strike|fortnite|"
    r"call of duty|skyrim|roblox|a (?:video )?game|the game|video games?|chess|baseball|my (?:novel|story|book|"
    r"script|screenplay|short story|game)|a (?:novel|story|movie|film|play))\b|\bcharacter'?s?\b",
    _I,
)

_GROUP_TEMPLATE = (
    r"(?:jews|jewish people|muslims|christians|hindus|sikhs|buddhists|atheists|black people|blacks|white people|"
    r"whites|asians|africans|arabs|mexicans|latinos|hispanics|immigrants|migrants|refugees|foreigners|gays|"
    r"gay (?:people|men)|lesbians|bisexuals|trans(?:gender)? (?:people|women|men)|queer people|homosexuals|"
    r"women|girls|disabled people|the disabled|autistic people|roma(?: people)?|gypsies|indians|native americans|"
    r"indigenous people|(?!(?:these|those|some|many|most|all|other|the|such|more|few|young|old|real)\b)WORD "
    r"(?:people|persons|folks))"
)
_GROUP = _GROUP_TEMPLATE.replace("WORD", "[a-z-]+")
# Where a pattern opens with the group, its open "<word> people" form reads at most 60 letters or hyphens:
# unbounded, every word start inside a long hyphenated run ("a-a-a-…") re-read the rest of the run
# (quadratic). Every start in a run reaches the same run end, so a longer compound still matches, from a
# later word start.
_LEADING_GROUP = _GROUP_TEMPLATE.replace("WORD", "[a-z-]{1,60}")
DEHUMANISE_RE = re.compile(
    rf"\b{_LEADING_GROUP}\s+(?:are|is)\s+(?:(?:all|just|nothing but|simply|like)\s+)?(?:(?:a|an)\s+)?"
    r"(?:animals|vermin|rats|cockroaches|parasites|subhuman|savages|a disease|a plague|a cancer|inferior|filth|"
    r"scum|trash|garbage|monkeys|apes|pigs|dogs|evil|criminals|terrorists|rapists|stupid|worthless)\b",
    _I,
)
_EXCLUDED = (
    r"(?:die|killed|exterminated|deported|banned|gassed|wiped out|eradicated|sterili[sz]ed|segregated|"
    r"persecuted|discriminated against|kicked (?:off|out)|expelled|locked up|barred|denied|excluded)"
)
_NOT_ALLOWED = (
    r"not\s+(?:be\s+(?:allowed|given|granted|permitted|admitted)|hold|have|get|receive|vote|marry|work|serve|own|"
    r"run for)"
)
_MODAL = r"(?:should|must|ought to|need to|deserve to)"
_ADV = r"(?:(?:all|better|best|just)\s+)?"
EXCLUSION_RE = re.compile(
    rf"\b{_LEADING_GROUP}\s+{_MODAL}\s+{_ADV}(?:(?:be\s+)?{_EXCLUDED}|{_NOT_ALLOWED})\b|"
    rf"\b(?:should|must)\s+{_GROUP}\s+{_ADV}(?:(?:be\s+)?{_EXCLUDED}|{_NOT_ALLOWED})\b|"
    rf"\b(?:exterminate|eliminate|get rid of|kill all|deport all|gas)\s+(?:the\s+|all\s+)?{_GROUP}",
    _I,
)
SLUR_RE = re.compile(
    r"\b(?:n[i1]gg(?:er|a)s?|kikes?|spics?|chinks?|wetbacks?|faggots?|fags|trann(?:y|ies)|ragheads?|towelheads?|"
    r"gooks?|beaners?|sand ?n[i1]gg(?:er|a)s?|shemales?|jungle bunn(?:y|ies))\b",
    _I,
)
MENTION_RE = re.compile(
    r"\b(?:slurs?|terms?|words?|derogatory|offensive|epithets?|insults?|called|calling|means|meaning|origin|"
    r"etymology|refers? to|reclaim(?:ed)?)\b|[\"'“‘]",
    _I,
)
DIRECTED_INSULT_RE = re.compile(
    r"\byou(?:'re| are)\s+(?:(?:such|a|an|just|so|the|most|really|fucking|fuckin|a total|a complete)\s+){0,3}"
    r"(?:stupid|idiot|moron|imbecile|worthless|pathetic|retard(?:ed)?|dumb(?:ass)?|loser|piece of shit|trash|"
    r"garbage|useless|disgusting|ugly|fat|cunt|bitch|asshole|dick)\b|\bfuck (?:you|off)\b",
    _I,
)

SELF_HARM_RE = re.compile(
    r"\b(?:you should|you must|go|just|why don'?t you|please)\s+(?:go\s+)?(?:kill yourself|end your (?:own )?life|"
    r"end it all|hurt yourself|cut yourself|starve yourself|hang yourself|jump off)\b|\bkys\b|\b(?:nobody|no one) "
    r"(?:would|will) (?:miss|care about) you\b|\b(?:world|everyone) (?:would|will) be better (?:off )?without you\b|"
    r"\byou (?:deserve to|should) die\b|\b(?:lethal|fatal) (?:dose|amount) of\b|\bhow many (?:pills|tablets)\b[^.!?\n]"
    r"{0,30}\b(?:kill|overdose|die)\b|\b(?:painless(?:ly)?|quick|easy|best|easiest) (?:way|ways|method|methods) "
    r"(?:to|of) (?:die|dying|kill (?:yourself|myself)|commit suicide|suicide)\b|\bcommit(?:ting)? suicide\b",
    _I,
)
SUPPORT_RE = re.compile(
    r"\b(?:hotline|helpline|lifeline|988|samaritans|crisis|reach out|talk to someone|you are not alone|you're not "
    r"alone|professional help|therapist|counsell?or|emergency services|prevent(?:ion|ing)?)\b",
    _I,
)

MINOR_RE = re.compile(
    r"\b(?:child(?:ren)?|kids?|minors?|underage|under-age|teen(?:ager)?s?|pre-?teens?|toddlers?|schoolgirls?|"
    r"schoolboys?|little (?:girls?|boys?)|(?:[1-9]|1[0-7])[- ]years?[- ]old|loli)\b",
    _I,
)
SEXUAL_RE = re.compile(
    r"\b(?:sex(?:ual(?:ly)?)?|nude|naked|porn(?:ographic|ography)?|erotic|orgasm|genitals?|intercourse|molest(?:ing|"
    r"ed)?|aroused|arousing|masturbat\w*|fondl\w*|seduc\w*|lewd|explicit)\b",
    _I,
)
PROTECTIVE_RE = re.compile(
    r"\b(?:abuse|abused|exploitation|exploited|report(?:ing)?|protect(?:ion|ing)?|illegal|crimes?|criminal|"
    r"prevent(?:ion|ing)?|csam|grooming|law|laws|police|victims?|education|consent|safeguarding|therapy|"
    r"pediatric(?:ian)?|health|development|puberty)\b",
    _I,
)

HAZARD_TOPIC_RE = re.compile(
    r"\b(?:pipe bomb|explosives?|(?<!bath )(?<!photo )(?<!seed )(?<!stink )bomb|detonator|napalm|thermite|tatp|"
    r"c-?4|nitroglycerin|black powder|molotov|"
    r"nerve agent|sarin|vx gas|ricin|anthrax|mustard gas|chlorine gas|methamphetamine|meth|fentanyl|heroin|"
    r"crack cocaine|cocaine|lsd|ghost gun|untraceable (?:gun|firearm)|3d[- ]printed (?:gun|firearm)|silencer|"
    r"suppressor|auto sear|full[- ]auto|ransomware|keylogger|botnet|malware|credit card skimmer|weapon)\b",
    _I,
)
# A step: at the start, after a newline or after a sentence end, then whitespace, an optional list marker or
# sequencer, and a verb. Written as (?:^|\n|[.!?]\s+)\s* would be quadratic on a run of blank lines (every
# newline re-reads the rest of the run), so a match starts only where a whitespace run begins (one that
# holds a newline), right after a sentence end, or at the start; the same steps are found.
PROCEDURE_RE = re.compile(
    r"(?:^|(?<=[.!?])(?=\s)|(?<!\s)(?=[^\S\n]*+\n))\s*+"
    r"(?:(?:step\s*)?\d{1,2}[.):]\s*|[-*•]\s*|first,?\s*|then,?\s*|next,?\s*|finally,?\s*)?"
    r"(?:mix|combine|add|heat|dissolve|pour|grind|attach|fill|pack|insert|connect|wire|light|ignite|stir|boil|"
    r"filter|extract|distill|reflux|crush|dry|cook|assemble|drill|solder|compile|deploy|inject|obtain|purchase|"
    r"buy|acquire|place|seal|wrap)\b",
    _I,
)
BUILD_REQUEST_RE = re.compile(
    r"\b(?:make|build|create|assemble|synthesi[sz]e|cook|manufacture|produce|3d[- ]print|print|brew|grow|write|"
    r"code|develop|get|buy|obtain)\b[^.!?\n]{0,30}?",
    _I,
)
REFUSAL_RE = re.compile(
    r"\b(?:i (?:can(?:no|')t|won'?t|will not|am not able to|am unable to|must decline|refuse)|i'm (?:not able|unable|"
    r"sorry)|sorry,? (?:but )?i|not (?:able|going) to (?:help|assist|provide)|against my|i do not (?:provide|"
    r"support)|cannot (?:help|assist|provide))\b",
    _I,
)
CONDEMN_RE = re.compile(
    r"\b(?:not|never|no|don'?t|do not|wrong|false|myth|untrue|illegal|crime|racist|bigoted|hateful|harmful|"
    r"unacceptable|condemn\w*|stereotypes?|prejudice|against the law|accused|convicted|charged|sentenced|"
    r"arrested|claim(?:s|ed)?|allegedly)\b",
    _I,
)

# Literal anchors (lowercase; "_" is a space): every match of the paired pattern contains one of them.
VIOLENCE_ANCHORS = anchor_regex(
    "kill murder poison shoot stab strangl chok throttl suffocat smother drown beat attack assault hurt harm tortur "
    "kidnap abduct rap execut eliminat punch overpower maim injur crush gut decapitat behead dismember exterminat "
    "decimat massacr slaughter bomb blow burn set_fire run_over stalk headshot beating"
)
CRIME_ANCHORS = anchor_regex("break burglar rob steal shoplift pickpocket hotwir disabl")
ATROCITY_ANCHORS = anchor_regex(
    "repeat replicat recreat reproduc copy emulat carry_out commit benefit advantage positive success holocaust jew"
)
GROUP_ANCHORS = anchor_regex(
    "jew muslim christian hindu sikh buddhist atheist black white asian african arab mexican latino hispanic "
    "immigrant migrant refugee foreigner gay lesbian bisexual trans queer homosexual women girls disabled autistic "
    "roma gyps indian native indigenous people persons folks"
)
SLUR_ANCHORS = anchor_regex(
    "nigg ni1g kike spic chink wetback faggot trann raghead towelhead gook beaner shemale jungle_bunn"
)
INSULT_ANCHORS = anchor_regex("you're you_are fuck")
SELF_HARM_ANCHORS = anchor_regex(
    "yourself your_life it_all kys miss_you care_about_you without_you die lethal fatal pills tablets suicide"
)
MINOR_ANCHORS = anchor_regex("child kid minor underage under-age teen toddler school little year loli")
HAZARD_ANCHORS = anchor_regex(
    "bomb explosive detonator napalm thermite tatp c4 c-4 nitroglycerin black_powder molotov nerve_agent sarin "
    "vx_gas ricin anthrax mustard_gas chlorine_gas meth fentanyl heroin cocaine lsd ghost_gun untraceable 3d "
    "silencer suppressor sear full-auto full_auto ransomware keylogger botnet malware skimmer weapon"
)
