"""Implicit profile items: what a person's work probably is, from what they say they did
("Rewired three kitchens today, my hands are done" -> probably an electrician).

A statement about the speaker's own day that uses the working words of a trade (lemmas
in English, words in Chinese) gives an *implicit* job item with a low confidence.  It
never replaces a job said outright; saying it again raises its confidence.  A trade's
own word is enough when it is said of one's working day ("today", "今天"); otherwise it
needs one of the trade's common words beside it, and common words alone need three
("patients" and "hospital" could be a visit; "ward" is a nurse's day).  One word alone
says little: "tickets for a gig" is not a musician's night, nor "the landlord fixed the
boiler" a plumber's."""

from __future__ import annotations

from collections.abc import Iterable

# trade -> (strong cues: one is enough, weak cues: two are needed)
_EN: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "electrician": (frozenset({"rewire", "rewired", "fusebox", "consumer unit", "breaker"}),
                    frozenset({"wiring", "fuse", "circuit", "socket", "cable", "kitchen", "house", "job"})),
    "plumber": (frozenset({"boiler", "plumbing", "stopcock"}),
                frozenset({"pipe", "leak", "radiator", "drain", "tap", "bathroom", "job"})),
    "nurse": (frozenset({"ward", "triage", "obs"}),
              frozenset({"patient", "shift", "night", "doctor", "drip", "hospital"})),
    "teacher": (frozenset({"pupil", "classroom", "marking", "lesson", "homework"}),
                frozenset({"student", "class", "grade", "essay", "term", "parent", "school"})),
    "software developer": (frozenset({"deploy", "deployment", "refactor", "standup", "codebase", "debug"}),
                           frozenset({"bug", "code", "production", "sprint", "merge", "release", "server"})),
    "chef": (frozenset({"sous", "covers", "mise"}),
             frozenset({"service", "kitchen", "menu", "prep", "dish", "restaurant", "shift"})),
    "lawyer": (frozenset({"courtroom", "deposition", "verdict", "litigation"}),
               frozenset({"court", "client", "case", "trial", "hearing", "brief", "judge"})),
    "pilot": (frozenset({"cockpit", "layover", "runway", "crosswind", "first officer", "sectors", "autopilot"}),
              frozenset({"flight", "landing", "crew", "passenger", "fly"})),
    "delivery driver": (frozenset({"parcels", "deliveries", "delivery"}),
                        frozenset({"route", "van", "drop", "depot", "shift"})),
    "farmer": (frozenset({"lambing", "calving", "harvest", "tractor"}),
               frozenset({"crop", "cow", "sheep", "field", "herd", "barn"})),
    "hairdresser": (frozenset({"haircut", "highlights", "blow-dry", "salon"}),
                    frozenset({"client", "colour", "cut", "hair"})),
    "accountant": (frozenset({"audit", "ledger", "payroll", "reconciliation"}),
                   frozenset({"tax", "return", "invoice", "client", "account", "year-end"})),
    "firefighter": (frozenset({"call-out", "callout", "blaze"}),
                    frozenset({"fire", "station", "crew", "hose", "rescue", "shift"})),
    "musician": (frozenset({"gig", "setlist", "soundcheck"}),
                 frozenset({"rehearsal", "band", "tour", "stage", "venue"})),
    "carpenter": (frozenset({"joinery", "dovetail", "cabinetry"}),
                  frozenset({"timber", "cabinet", "sanding", "plank", "workshop", "wood"})),
}
_ZH: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "电工": (frozenset({"电线", "布线", "电路", "配电箱", "接线"}), frozenset({"插座", "线路", "开关", "活"})),
    "护士": (frozenset({"病房", "输液", "查房"}), frozenset({"病人", "患者", "夜班", "值班", "医院"})),
    "老师": (frozenset({"备课", "改作业", "批改", "讲课", "班主任"}),
             frozenset({"学生", "上课", "家长", "考试", "课", "节课", "作业", "教案", "讲台"})),
    "程序员": (frozenset({"上线", "代码", "调试", "需求评审"}), frozenset({"bug", "服务器", "加班", "项目", "发布"})),
    "厨师": (frozenset({"后厨", "掌勺", "备菜"}), frozenset({"做菜", "菜单", "客人", "餐厅"})),
    "律师": (frozenset({"开庭", "庭审", "案子", "卷宗"}), frozenset({"客户", "法院", "官司", "合同"})),
    "快递员": (frozenset({"派件", "送快递", "揽件"}), frozenset({"快递", "包裹", "送货", "电动车"})),
    "司机": (frozenset({"跑车", "拉客", "接单"}), frozenset({"乘客", "路线", "开车"})),
}


_WORKING_DAY = {"en": frozenset({"today", "tonight", "this morning", "all day", "all morning", "all evening",
                                  "afternoon", "morning", "evening", "shift"}),
                "zh": frozenset({"今天", "今晚", "一整天", "上午", "下午", "晚上", "白天", "一天"})}


def trade_of(words: Iterable[str], lang: str) -> str | None:
    """The trade whose working words the statement uses, if one stands out: a trade's
    own word said of one's day ("today", "今天"), or more than one of its words."""
    seen = {w.lower() for w in words}
    needed = 2 if seen & _WORKING_DAY["zh" if lang == "zh" else "en"] else 3
    best, best_score = None, 0
    for trade, (strong, weak) in (_ZH if lang == "zh" else _EN).items():
        hits, weak_hits = len(seen & strong), len(seen & weak)
        score = 2 * hits + weak_hits
        # one word alone is not enough: "the landlord fixed the boiler", "tickets for a gig"
        if score >= needed and score > best_score:
            best, best_score = trade, score
    return best


def implicit_text(who: str, trade: str, said: str, lang: str) -> str:
    """The item's text: what it infers, and from what."""
    if lang == "zh":
        return f"{who}可能是{trade}（{said}）"
    article = "an" if trade[0] in "aeiou" else "a"
    return f"{who} probably works as {article} {trade} (from: {said})"
