"""Equivalent names a grounded answer may use for what the context wrote differently: demonyms whose
spelling differs from the country ("Spanish"/"Spain"), common country codes and US state codes
("California"/"CA"). Kept deliberately small: an alias only ever adds support, never removes it.
"""

from __future__ import annotations

_DEMONYMS = """
spanish:spain french:france dutch:netherlands,holland swiss:switzerland danish:denmark welsh:wales
irish:ireland polish:poland finnish:finland english:england scottish:scotland,scots british:britain,uk,england
american:america,us,usa,united states european:europe,eu filipino:philippines afghan:afghanistan
argentine:argentina czech:czech republic,czechia saudi:saudi arabia emirati:uae,emirates kiwi:new zealand
peruvian:peru norwegian:norway belgian:belgium portuguese:portugal chinese:china israeli:israel
"""
_COUNTRY_CODES = """
uk:united kingdom,britain,great britain,england us:united states,america usa:united states,america
uae:united arab emirates eu:european union un:united nations nyc:new york city,new york la:los angeles
dc:washington,district of columbia
"""
_US_STATES = """
al:alabama ak:alaska az:arizona ar:arkansas ca:california co:colorado ct:connecticut de:delaware fl:florida
ga:georgia hi:hawaii id:idaho il:illinois in:indiana ia:iowa ks:kansas ky:kentucky la:louisiana me:maine
md:maryland ma:massachusetts mi:michigan mn:minnesota ms:mississippi mo:missouri mt:montana ne:nebraska
nv:nevada nh:new hampshire nj:new jersey nm:new mexico ny:new york nc:north carolina nd:north dakota oh:ohio
ok:oklahoma or:oregon pa:pennsylvania ri:rhode island sc:south carolina sd:south dakota tn:tennessee tx:texas
ut:utah vt:vermont va:virginia wa:washington wv:west virginia wi:wisconsin wy:wyoming
"""


def _table() -> dict[str, set[tuple[str, ...]]]:
    table: dict[str, set[tuple[str, ...]]] = {}
    for block in (_DEMONYMS, _COUNTRY_CODES, _US_STATES):
        for line in block.strip().splitlines():
            for entry in _entries(line):
                name, alternatives = entry.split(":")
                for alternative in alternatives.split(","):
                    table.setdefault(name, set()).add(tuple(alternative.split()))
                    table.setdefault(alternative, set()).add(tuple(name.split()))
    return table


def _entries(line: str) -> list[str]:
    """Split "a:b c:d,e f" into "a:b", "c:d,e f": an entry runs until the next word with a colon."""
    entries: list[str] = []
    for word in line.split():
        if ":" in word or not entries:
            entries.append(word)
        else:
            entries[-1] += " " + word
    return entries


ALIASES = _table()


def aliases(name: str) -> set[tuple[str, ...]]:
    """Alternative token sequences for a normalised name ("california" -> {("ca",)})."""
    return ALIASES.get(name, set())
