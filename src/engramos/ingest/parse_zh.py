"""Chinese statements from jieba's part-of-speech tags (rjieba): the sentence with
"我"/"你" replaced by the speaker's and addressee's names, and the slots it states,
read from the tagged words (a verb such as 搬到 followed by a place word tagged ``ns``;
在 + an organisation + 上班; 是/当/做 + a job title; 和 + a person ``nr`` + 结婚...)."""

from __future__ import annotations

import re
from dataclasses import replace

from ..text import _jieba
from .occupations import trade_of
from .slot_vocab import ZH_CAR_BRANDS
from .statements import Slot, Statement, settle

Tagged = list[tuple[str, str]]

_HOME_VERBS = frozenset({"住", "住在", "搬到", "搬去", "搬进", "搬回", "搬来", "定居", "安家", "搬家到"})
_SKIP = frozenset({"了", "到", "在", "去", "进", "回", "来", "过", "老家", "新家"})
_NOT_PLACES = frozenset({"这里", "那里", "这边", "那边", "附近", "郊区", "市区", "城里", "乡下", "公司", "一起", "这儿",
                         "那儿", "新房", "新家", "公寓", "房子"})
# employers the segmenter takes for places
KNOWN_ORGS = frozenset({"京东", "阿里", "阿里巴巴", "腾讯", "百度", "华为", "美团", "小米", "网易", "滴滴", "拼多多",
                         "携程", "联想", "中兴", "比亚迪", "蔚来", "顺丰", "海尔", "格力", "招商银行", "工商银行"})
_PLACE_SUFFIX = ("市", "区", "县", "省", "镇", "村", "州")
_WORK_VERBS = frozenset({"工作", "上班", "实习", "任职", "打工"})
_BE_JOB = frozenset({"是", "当", "当上", "做", "成为", "担任", "升为", "升职为", "升任", "晋升为", "转行做", "改做",
                     "干"})
_JOB_SUFFIX = ("师", "员", "生", "家", "工", "手", "夫", "警", "官", "医", "长", "者", "匠", "士", "经理", "总监",
               "老板", "主管", "记者", "编辑", "厨师", "司机", "律师", "会计")
_NOT_JOB = frozenset({"学生", "先生", "医生们", "大家", "老家", "人家", "自家", "专家们", "新手", "对手"})
_PARTNER = frozenset({"老婆", "老公", "妻子", "丈夫", "男朋友", "女朋友", "未婚夫", "未婚妻", "对象", "爱人", "男友",
                      "女友"})
_FAMILY = frozenset({"妈妈", "爸爸", "母亲", "父亲", "姐姐", "妹妹", "哥哥", "弟弟", "儿子", "女儿", "奶奶", "爷爷",
                     "外婆", "外公", "孩子"})
_PETS = frozenset({"狗", "猫", "小狗", "小猫", "狗狗", "猫咪", "兔子", "仓鼠", "鹦鹉", "金鱼", "乌龟"})
_NUMERIC = {"rent": ("房租", "租金"), "salary": ("工资", "薪水", "月薪", "年薪", "收入", "薪资"),
            "weight": ("体重",)}
# breeds said instead of the animal ("一只金毛"), and any compound ending in the animal ("橘猫")
_PET_BREEDS = frozenset({"金毛", "柯基", "泰迪", "哈士奇", "拉布拉多", "萨摩耶", "边牧", "柴犬", "比熊", "博美", "布偶",
                         "英短", "美短", "暹罗", "加菲"})
_PET_ENDINGS = ("狗", "猫", "犬", "兔", "鹦鹉", "龟")


def _is_pet(word: str) -> bool:
    return word in _PETS or word in _PET_BREEDS or (word.endswith(_PET_ENDINGS) and 1 < len(word) <= 3
                                                    and word not in ("热狗", "熊猫", "猫眼"))


_SCHOOLS = ("大学", "学院", "学校", "中学", "小学", "大")
# 在银行做柜员: a title after a place of work
_AT_WORKPLACE = re.compile(r"在\S{0,6}(?:银行|医院|学校|工厂|公司|餐厅|饭店|酒店|超市|商场|单位|集团|"
                           r"事务所|工地|诊所|药店|研究所|报社|电视台|幼儿园|门店)\S{0,2}(?:做|当|担任)")
_WEIGHED = re.compile(r"([0-9０-９]+(?:\.[0-9]+)?|[一二两三四五六七八九十百点]+)\s*(?:公斤|斤|kg|KG)"
                      r"(?=[了啦呢，。！!,.\s]|$)")
_DIGITS = re.compile(r"[0-9０-９]+(?:[.,][0-9]+)?|[一二两三四五六七八九十百千万]+")


_CLAUSES = re.compile(r"[，,；;。！!？?]")
_DONE = re.compile(r"了|过|现在|目前|已经|正在")
_AHEAD = re.compile(r"要|打算|准备|计划|将|下周|下个月|明年|想")


def _stated_now(sentence: str, slot: Slot) -> Slot:
    """A slot stated as so, in its own clause ("我考上了浙江大学的研究生，下周去杭州报到":
    the school holds, the trip is a plan), like an English verb in a plain tense."""
    value = re.sub(r"（.*?）", "", slot.value)
    clause = next((c for c in _CLAUSES.split(sentence) if value and value in c), "")
    if clause and _DONE.search(clause) and not _AHEAD.search(clause):
        return replace(slot, now=True)
    return slot


def _tokens(sentence: str) -> Tagged:
    out: Tagged = []
    for word, tag in _jieba().tag(sentence):  # type: ignore[attr-defined]
        if len(word) > 1 and word[0] == "我" and word[1] != "们" and tag.startswith("v"):
            out.extend([("我", "r"), (word[1:], "v")])  # "我养" -> 我 + 养
        else:
            out.append((word, tag))
    return out


def third_person_zh(sentence: str, speaker: str, addressee: str | None) -> str:
    out = re.sub(r"我(?!们)", speaker, sentence)
    return re.sub(r"你(?!们)", addressee, out) if addressee else out


def _subject(toks: Tagged, speaker: str, addressee: str | None) -> str | None:
    for word, tag in toks:
        if word in ("我", "我们"):
            return speaker
        if word == "你" and addressee:
            return addressee
        if tag == "nr":
            return word
        # a name after a verb or a measure word is an object ("提了一辆比亚迪")
        if tag.startswith("v") or tag == "m":
            break
    # no subject before the verb, or a preposition first ("在银行做柜员"): the speaker's
    # ("上个月搬到了上海"; the segmenter tags some verbs with their 了 as particles: "提了")
    # (and a one-character verb it mistakes for a name, before its 了: "换了辆特斯拉")
    return speaker if toks and (toks[0][1] in ("t", "d", "v", "p") or toks[0][0].endswith("了") or
                                (len(toks) > 1 and len(toks[0][0]) == 1 and toks[1][0] in ("了", "过", "着"))) \
        else None


def _place(toks: Tagged, j: int) -> str:
    while j < len(toks) and toks[j][0] in _SKIP:
        j += 1
    parts: list[str] = []
    while j < len(toks) and (toks[j][1] in ("ns", "nt", "s") or toks[j][0].endswith(_PLACE_SUFFIX)):
        parts.append(toks[j][0])
        j += 1
    return "".join(parts)


def _named_after(toks: Tagged, j: int) -> str:
    """The name after a verb of moving or joining (past 了/到/在...), whatever tag the
    segmenter gave it (it reads 大连 as an adverb): a short word that is no function word."""
    while j < len(toks) and toks[j][0] in _SKIP:
        j += 1
    if j < len(toks):
        word, tag = toks[j]
        if 2 <= len(word) <= 4 and tag[:1] not in ("v", "x", "u", "m", "r", "p", "c") and word not in _NOT_PLACES:
            return word
    return ""


def _after(toks: Tagged, j: int, *, stop: tuple[str, ...] = ()) -> str:
    """The words after position ``j`` up to punctuation, a verb or ``stop`` (skipping
    quantifiers such as 一名/一家)."""
    parts: list[str] = []
    for word, tag in toks[j:]:
        if tag == "x" or (word in stop and parts) or (tag.startswith("v") and parts) or tag == "uj":
            break
        if (tag == "m" or word in ("了", "上")) and not parts:
            continue
        parts.append(word)
    return "".join(parts)


def _is_job(title: str) -> bool:
    return bool(title) and title not in _NOT_JOB and title.endswith(_JOB_SUFFIX)


class _Reader:
    def __init__(self, sentence: str, speaker: str, addressee: str | None) -> None:
        self.s, self.speaker = sentence, speaker
        self.toks = _tokens(sentence)
        self.who = _subject(self.toks, speaker, addressee)
        self.found: list[tuple[str, Slot]] = []

    def add(self, slot: Slot, who: str | None = None) -> None:
        who = who or self.who
        if who and slot.value and (who, slot) not in self.found:
            self.found.append((who, slot))

    def read(self) -> list[tuple[str, Slot]]:
        words = [w for w, _ in self.toks]
        for i, (word, tag) in enumerate(self.toks):
            self.home(i, word)
            self.job(i, word)
            self.partner(i, word, tag)
            self.pet(i, word)
        self.diet_and_numbers(words)
        self.things(words)
        if not any(slot.attribute == "job" for _, slot in self.found) and self.who in (self.speaker, None):
            grams = [self.s[i:i + n] for n in (2, 3) for i in range(len(self.s) - n + 1)]
            trade = trade_of(words + grams, "zh")
            if trade:
                self.add(Slot("job", trade, key=trade, implicit=True), who=self.speaker)
        return settle([(who, _stated_now(self.s, slot)) for who, slot in self.found])

    def home(self, i: int, word: str) -> None:
        toks = self.toks
        nxt = toks[i + 1][0] if i + 1 < len(toks) else ""
        moves = word == "搬" and nxt in ("到", "去", "进", "回", "来")  # jieba may split 搬到 after 我
        if moves or (word in _HOME_VERBS and not (word == "住" and nxt not in ("在", "到"))):
            place = _place(toks, i + 1) or _named_after(toks, i + 1)
            if place:
                self.add(Slot("home", place, ended="不" in self.s[:self.s.find(word)][-3:]))
        if word in ("生活", "工作生活") and i >= 2 and any(w == "在" for w, _ in toks[max(0, i - 4):i]):
            start = max(k for k in range(max(0, i - 4), i) if toks[k][0] == "在")
            self.add(Slot("home", _place(toks, start + 1)))  # 我在天津工作生活
        if word in ("家", "新家") and nxt == "在" and i >= 1 and toks[i - 1][0] in ("我", "我们", "的", "我家"):
            self.add(Slot("home", _place(toks, i + 2)))  # 我们现在的家在厦门
        if word == "老家" and nxt in ("在", "是"):
            self.add(Slot("hometown", _place(toks, i + 2)))
        if word in ("来自", "出生", "生在"):
            self.add(Slot("hometown", _place(toks, i + 1)))
        if word == "新家" and i >= 2 and toks[i - 1][0] == "的":
            place = _place([t for t in toks[:i - 1] if t[1] in ("ns", "s") or t[0].endswith(_PLACE_SUFFIX)][-1:], 0)
            self.add(Slot("home", place))

    def job(self, i: int, word: str) -> None:
        toks = self.toks
        if word in _BE_JOB:
            title = _after(toks, i + 1, stop=("的", "了"))
            at_work = word in ("做", "当", "担任") and (re.search(r"跳槽|工作|公司|上班|入职|岗位|职位|转行", self.s) or
                                                       _AT_WORKPLACE.search(self.s[:self.s.find(word) + 1]))
            if _is_job(title) or (at_work and len(title) >= 2):  # 跳槽去了一家游戏公司做策划
                self.add(Slot("job", title))
                if word in ("做", "当", "担任"):
                    self.workplace(i)  # 我在华为做测试工程师
        if word in _WORK_VERBS:
            self.workplace(i)
        if word in ("跳槽", "加入", "入职", "跳到"):  # 我跳槽到腾讯了
            org = _named_after(toks, i + 1)
            if org:
                self.add(Slot("employer", org))
        if word == "开" and re.search(r"开了?(?:一家|一个|家|个)", self.s):  # 自己开了一家花店: its owner
            shop = _after(toks, i + 1, stop=("，", "。"))
            if shop.endswith(("店", "馆", "厅", "工作室", "公司")):
                self.add(Slot("job", f"{shop}老板"))
        if word in ("辞职", "离职", "被裁", "失业", "裁员"):
            self.add(Slot("job", "left a job", ended=True))
        if word == "退休":
            self.add(Slot("job", "退休"))

    def workplace(self, i: int) -> None:
        """The employer between 在 and a verb of work: 我在字节跳动上班, 我在华为做测试工程师."""
        toks = self.toks
        start = max((k for k in range(i) if toks[k][0] == "在"), default=None)
        if start is not None:
            org = []
            for w, t in toks[start + 1:i]:  # up to the first verb or comma: 在京东上班，做运营
                if t in ("v", "x"):
                    break
                if t != "m":
                    org.append((w, t))
            # 在北京上班 names a city, not an employer; the segmenter tags 京东 as a place too
            if org and (not all(t in ("ns", "t", "d") for _, t in org) or any(w in KNOWN_ORGS for w, _ in org)):
                self.add(Slot("employer", "".join(w for w, _ in org)))

    def partner(self, i: int, word: str, tag: str) -> None:
        toks = self.toks
        if word in _PARTNER:
            j = i + 1 + (1 if i + 1 < len(toks) and toks[i + 1][0] in ("叫", "是", "，") else 0)
            if j < len(toks) and toks[j][1] == "nr":
                self.add(Slot("partner", toks[j][0]))
        if word in _FAMILY and i >= 1 and toks[i - 1][0] in ("我", "的"):
            name = toks[i + 1][0] if i + 1 < len(toks) and toks[i + 1][1] == "nr" else ""
            if name:  # 我妹妹小雨; a passing 我的奶奶 says too little to keep
                self.add(Slot("family", f"{word}{name}", key=name))
        if word in ("结婚", "订婚", "在一起", "分手", "离婚"):
            names = [w for w, t in toks[:i] if t == "nr"] or \
                [toks[k + 1][0] for k in range(i - 1) if toks[k][0] in _PARTNER and toks[k + 1][1][:1] in "njz"]
            if names and any(w in ("和", "跟", "与") for w, _ in toks[:i]):
                self.add(Slot("partner", names[-1], ended=word in ("分手", "离婚")))

    def pet(self, i: int, word: str) -> None:
        toks = self.toks
        if _is_pet(word) and any(w in ("养", "领养", "收养", "买", "有", "的", "接") for w, _ in toks[:i]):
            name = ""
            for k in range(i + 1, min(i + 4, len(toks))):
                if toks[k][0] in ("叫", "名叫", "叫做") and k + 1 < len(toks):
                    name = toks[k + 1][0]
                    break
                if toks[k][0].startswith("叫") and len(toks[k][0]) > 1:  # jieba's one token "叫旺财"
                    name = toks[k][0][1:]
                    break
            if not name and i + 1 < len(toks) and toks[i + 1][1] in ("nr", "nz", "n") and \
                    not _is_pet(toks[i + 1][0]):  # 狗旺财
                name = toks[i + 1][0]
            self.add(Slot("pet", f"{name}（{word}）" if name else word, key=(name or word)))
        if word in ("走", "去世", "死", "离开") and i >= 1:
            before = [w for w, t in toks[max(0, i - 3):i] if t in ("n", "nr", "nz") and not _is_pet(w)]
            if before:
                self.add(Slot("pet", before[0], key=before[0], ended=True), who=self.speaker)

    def things(self, words: list[str]) -> None:
        """School, car and phone."""
        toks, s = self.toks, self.s
        if re.search(r"读书|上学|读研|读博|念书|考上|入学|毕业|就读|读大|读本科|读硕|上大学|念大学|在读", s):
            for w, t in toks:
                if w.endswith(_SCHOOLS) or (t == "nt" and w.endswith(("大", "大学"))):
                    self.add(Slot("school", w, ended="毕业" in s))
        for i, (w, _tag) in enumerate(toks):
            if w in ("一辆", "辆") or (w.endswith("车") and len(w) > 1 and w not in ("开车", "堵车", "停车")):
                name = _after(toks, i + 1) if w in ("一辆", "辆") else w
                if name and any(v in s for v in ("买", "开", "换", "提", "租")):
                    self.add(Slot("car", name))
            if w.startswith(ZH_CAR_BRANDS) and any(v in s for v in ("我的", "我家", "买", "开", "换", "提", "租")) \
                    and not any(slot.attribute == "car" for _, slot in self.found):  # "我的老捷达又要修了"
                self.add(Slot("car", w + "".join(x for x, tag in toks[i + 1:i + 3] if tag == "eng")))
            if "手机" in w and any(v in s for v in ("换", "买", "用")):
                brand = "".join(x for x, tag in toks[i + 1:] if tag in ("nr", "nz", "eng", "nrt", "m"))
                self.add(Slot("phone", brand or w))

    def diet_and_numbers(self, words: list[str]) -> None:
        s = self.s
        # a diet is the speaker's unless the sentence names someone ("医生让我戒肉": the
        # doctor is no person named, the speaker gives up meat)
        who = self.who or self.speaker
        if re.search(r"(开始|又|重新)吃肉", s):
            self.add(Slot("diet", "吃肉"), who=who)
        elif re.search(r"吃素|素食|不吃肉|戒肉|戒了肉", s):
            self.add(Slot("diet", "素食", ended=bool(re.search(r"不再吃素|不吃素了", s))), who=who)
        numeric = dict(_NUMERIC)
        if "房东" in s and re.search(r"涨|降|租|每月|一个月|月租", s):  # 房东说下个月开始每月涨到四千
            numeric["rent"] = (*_NUMERIC["rent"], "房东")
        for attribute, cues in numeric.items():
            at = min((s.find(c) for c in cues if c in s), default=-1)
            if at >= 0:
                m = _DIGITS.search(s, at)
                if m:
                    self.add(Slot(attribute, m.group()), who=self.speaker)
        # one's weight said without 体重: "现在七十六公斤" (not "买了五斤苹果": the unit measures a thing)
        weighed = _WEIGHED.search(s)
        if weighed and not any(slot.attribute == "weight" for _, slot in self.found) and \
                not re.search(r"买|卖|称了|重的|运了|背了|瘦了|胖了|减了|长了|掉了|涨了|增加|减少|他|她|它", s) and \
                self.who in (self.speaker, None):
            self.add(Slot("weight", weighed.group(1)), who=self.speaker)


def analyse_zh(sentence: str, speaker: str, addressee: str | None) -> Statement:
    from .mentions import mentions_zh

    reader = _Reader(sentence, speaker, addressee)
    names, own_now = mentions_zh(reader.toks, speaker, sentence)
    return Statement(third_person_zh(sentence, speaker, addressee), reader.read(), names, own_now)
