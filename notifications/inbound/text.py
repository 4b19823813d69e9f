"""Customer mail as words: HTML made text, earlier mail and signatures cut, language, survey score, complaint numbers.

Each rule is a table of patterns, so a mail client's new quoting style is one more line, not new code.
"""

from __future__ import annotations

import re
import unicodedata
from html.parser import HTMLParser

# --- HTML to text ------------------------------------------------------------------------------------------

_HIDDEN = frozenset({"script", "style", "head", "title", "noscript", "template", "svg", "object"})
# Block elements end a line; these also leave a blank line, as a reader sees a paragraph.
_PARAGRAPHS = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "dl", "table", "pre", "blockquote",
                         "hr", "address", "figure"})
_LINES = frozenset({"div", "li", "tr", "dt", "dd", "section", "article", "header", "footer", "caption", "form",
                    "fieldset", "legend", "center", "nav", "main", "aside", "figcaption", "details", "summary",
                    "body", "html"})
_SPACES = re.compile(r"[ \t\r\n\f\v\xa0\u3000]+")
_TAG = re.compile(r"<[^>]*>")
_BLANK_RUNS = re.compile(r"\n{3,}")


class _TextWriter(HTMLParser):
    """Collects the visible text of a page, a line per block; `> ` marks lines inside a blockquote."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self._line: list[str] = []
        self._hidden = 0
        self._pre = 0
        self._quote = 0
        self._lists: list[int | None] = []  # None for <ul>, the next number for <ol>

    def _end_line(self, *, keep_empty: bool = False) -> None:
        text = "".join(self._line) if self._pre else _SPACES.sub(" ", "".join(self._line)).strip()
        self._line = []
        if text or keep_empty:
            self.lines.append("> " * self._quote + text if text else "")

    def _paragraph(self) -> None:
        self._end_line()
        if self.lines and self.lines[-1]:
            self.lines.append("")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            self._hidden += 1
        elif tag == "br":
            self._end_line(keep_empty=True)
        elif tag in _PARAGRAPHS:
            self._paragraph()
            self._quote += tag == "blockquote"
            self._pre += tag == "pre"
            if tag in ("ul", "ol"):
                self._lists.append(1 if tag == "ol" else None)
        elif tag in _LINES:
            self._end_line()
            if tag == "li" and self._lists:
                number = self._lists[-1]
                self._line.append("- " if number is None else f"{number}. ")
                if number is not None:
                    self._lists[-1] = number + 1
        elif tag in ("td", "th") and self._line:
            self._line.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self._hidden = max(0, self._hidden - 1)
        elif tag in _PARAGRAPHS:
            self._paragraph()
            if tag == "blockquote":
                self._quote = max(0, self._quote - 1)
            elif tag == "pre":
                self._pre = max(0, self._pre - 1)
            elif tag in ("ul", "ol") and self._lists:
                self._lists.pop()
        elif tag in _LINES:
            self._end_line()

    def text(self) -> str:
        self._end_line()
        return _BLANK_RUNS.sub("\n\n", "\n".join(line.rstrip() for line in self.lines)).strip()

    def handle_data(self, data: str) -> None:
        if self._hidden:
            return
        if not self._pre:
            self._line.append(data)
            return
        first, *rest = data.replace("\r\n", "\n").split("\n")
        self._line.append(first)
        for line in rest:
            self._end_line(keep_empty=True)
            self._line.append(line)


def html_to_text(html: str) -> str:
    """The words a reader of `html` sees: no tags, scripts or styles; blocks and <br> make lines."""
    writer = _TextWriter()
    try:
        writer.feed(html)
        if writer.rawdata.startswith("<"):  # markup cut off at the end: a browser shows none of it
            writer.rawdata = ""
        writer.close()
    except AssertionError:  # html.parser's answer to a few broken declarations: fall back to dropping tags
        return _BLANK_RUNS.sub("\n\n", _TAG.sub("\n", html)).strip()
    return writer.text()


# --- format=flowed ---------------------------------------------------------------------------------------------

def unflow(text: str, delete_space: bool = False) -> str:
    """format=flowed text (RFC 3676) with its soft line breaks joined, so paragraphs read as the sender typed them
    (Thunderbird and others wrap at 72 columns, which would split an attribution line)."""
    lines: list[str] = []
    joining = False
    previous_depth = -1
    for line in text.split("\n"):
        depth = len(line) - len(line.lstrip(">"))
        body = line[depth:]
        body = body[1:] if body.startswith(" ") else body  # space-stuffing
        signature = body == "-- "
        if joining and depth == previous_depth and not signature:
            lines[-1] += body
        else:
            lines.append(f"{'>' * depth} {body}" if depth else body)
        joining = body.endswith(" ") and not signature
        if joining and delete_space:
            lines[-1] = lines[-1][:-1]
        previous_depth = depth
    return "\n".join(lines)


# --- Quoted earlier mail and signatures ----------------------------------------------------------------------

# A line where the earlier mail or the signature begins; everything from it on goes. Matched on the stripped line.
_CUT_LINE = re.compile("|".join([
    r">",                                                          # > quoted lines
    r"--$",                                                        # the "-- " signature delimiter
    # -----原始邮件-----, -----Original Message-----, QQ Mail's long forms (in its English interface: Original)
    r"[-_=—]{2,}\s*(?:原始邮件|原始郵件|原始信息|原始訊息|转发邮件|轉寄郵件|"
    r"(?i:Original(?: Message)?|Forwarded message))\s*[-_=—]{2,}$",
    # Attributions carry the earlier mail's date, which tells them from a sentence that merely ends in "wrote:".
    r"On\s(?=[^\n]*\d).{0,300}\bwrote\s*:$",                        # On Mon, 30 Nov 2026 ... wrote:
    r"(?:在|.{0,150}(?:于|於|@))(?=[^\n]*\d).{0,200}(?:写道|寫道)\s*[:：]$",  # 在 …写道： and Gmail's 于…写道：
    r"(?:Sent from (?:my|Mail|Outlook|Yahoo Mail)|Get Outlook for)\b.{0,40}$",
    # 发自我的iPhone, 發自我的 iPhone, 发自网易邮箱大师; not 发自内心 ("from the heart").
    r"(?:发自|發自)\s*(?:我的|网易|網易|QQ|腾讯|騰訊|Outlook|iPhone|iPad|Android|华为|華為|小米|手机|手機|移动|"
    r"Mail|邮箱|郵箱).{0,30}$",
    r"(?:来自|來自)我的\s*(?:iPhone|iPad|Android|华为|華為|小米|荣耀|手机|手機).{0,20}$",
    r"(?:从|從)我的.{1,30}(?:发送|發送|傳送)$",                      # 从我的 iPhone 发送
]))
# Attributions that a mail client wrapped over two or three lines start this way.
_WRAPPED_START = re.compile(r"(?:On\s|在)")
# Outlook-style header blocks: a From line followed by Sent/Date, To or Subject lines.
_FROM_FIELD = re.compile(r"\*?\s*(?:From|发件人|發件人|寄件者|寄件人)\s*\*?\s*[:：]", re.IGNORECASE)
_OTHER_FIELD = re.compile(r"\*?\s*(?:Sent|Date|To|Cc|Subject|发送时间|發送時間|寄件日期|日期|时间|時間|收件人|收件者|"
                          r"抄送|副本|主题|主題|主旨)\s*\*?\s*[:：]", re.IGNORECASE)
_SEPARATOR_ONLY = re.compile(r"[\s\-_=—*]*")


def _starts_earlier_mail(lines: list[str], index: int) -> bool:
    line = lines[index].strip()
    if _CUT_LINE.match(line):
        return True
    if _WRAPPED_START.match(line):
        joined = line
        for following in lines[index + 1:index + 3]:
            joined = f"{joined} {following.strip()}"
            if _CUT_LINE.match(joined):
                return True
    if _FROM_FIELD.match(line):
        fields = [following for following in lines[index + 1:index + 5] if following.strip()]
        return sum(bool(_OTHER_FIELD.match(field.strip())) for field in fields) >= 2
    return False


def strip_quoted(text: str) -> str:
    """The new words of a reply: from the first quoted line, attribution, earlier-mail header or signature on, cut."""
    lines = text.split("\n")
    for index in range(len(lines)):
        if _starts_earlier_mail(lines, index):
            del lines[index:]
            break
    while lines and _SEPARATOR_ONLY.fullmatch(lines[-1]):
        lines.pop()
    return "\n".join(lines).strip()


# --- Language -------------------------------------------------------------------------------------------------

# Pairs of a character used only in traditional writing and its simplified form (checked against zhconv).
TRADITIONAL_ONLY = ("這們個來為說時會對開關東車門問題還發後給錢貨買賣單號碼謝請麼沒壞從處務員話語讀誤"
                    "認識證議記設計網頁頭體點條樣氣電機線費運輸達遞過進連選種應該讓現實際質價優額補償"
                    "賠寫聽親愛見覺態產廠區師業經歷歲帳戶標確歡幫傳馬媽爾飛習書長間陽陰層變雙歸減難隨"
                    "屬協約紅綠藍顏盡並與學幾萬億當樂熱燈燒壓擊擔擇據換損廣慶總聯倉庫舊郵撥貼僅勞蘭張"
                    "彈錄閱隊陳陸級結維縣組織紙紛續綁嗎視覽觀訂訊討訴詢試詳誠誰調諾講謂貴資購趕輕輛轉"
                    "辦遲適邊鄰醫針鏈錯鍵閉陣險隱順須預領頻顧風飯館駕驗鬧魚鳥麥黃齊齒龍")
SIMPLIFIED_ONLY = ("这们个来为说时会对开关东车门问题还发后给钱货买卖单号码谢请么没坏从处务员话语读误"
                   "认识证议记设计网页头体点条样气电机线费运输达递过进连选种应该让现实际质价优额补偿"
                   "赔写听亲爱见觉态产厂区师业经历岁帐户标确欢帮传马妈尔飞习书长间阳阴层变双归减难随"
                   "属协约红绿蓝颜尽并与学几万亿当乐热灯烧压击担择据换损广庆总联仓库旧邮拨贴仅劳兰张"
                   "弹录阅队陈陆级结维县组织纸纷续绑吗视览观订讯讨诉询试详诚谁调诺讲谓贵资购赶轻辆转"
                   "办迟适边邻医针链错键闭阵险隐顺须预领频顾风饭馆驾验闹鱼鸟麦黄齐齿龙")
_TRADITIONAL = re.compile(f"[{TRADITIONAL_ONLY}]")
_SIMPLIFIED = re.compile(f"[{SIMPLIFIED_ONLY}]")
_IDEOGRAPH = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z]+")


def detect_language(text: str) -> str:
    """zh-CN, zh-TW or en: Chinese when ideographs hold their own against Latin words (one ideograph is about
    half a word); traditional when characters only traditional writing uses outnumber the simplified-only ones."""
    ideographs = len(_IDEOGRAPH.findall(text))
    if not ideographs or ideographs * 2 < len(_LATIN_WORD.findall(text)):
        return "en"
    return "zh-TW" if len(_TRADITIONAL.findall(text)) > len(_SIMPLIFIED.findall(text)) else "zh-CN"


# --- Survey score -----------------------------------------------------------------------------------------------

_HAN_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5}
_SCORE = re.compile(r"""
    (?:(?:评分|評分|打分|score|rating)\s*:?\s*)?
    (?:
        (?P<digit>[1-5])(?!\d)(?![.,]\d)
        (?:\s*(?P<unit>/\s*5(?!\d)|分|星|颗星|顆星|stars?\b|points?\b|out\s+of\s+5(?!\d)))?
      | (?P<han>[一二三四五])\s*(?P<han_unit>分|星|颗星|顆星)
      | (?P<stars>[★⭐]{1,5})(?![★⭐])☆*
    )
    (?P<rest>.*)
""", re.VERBOSE | re.IGNORECASE | re.DOTALL)
# What may stand between a bare digit and its comment ("5 days" is not a score); after a unit a comment may follow
# directly ("5分很满意"), but not as minutes ("5分钟").
_COMMENT_SEPARATOR = re.compile(r"\s*(?:\n|[-–—:,.。;；!！~、|])")
_MINUTES = ("钟", "鐘")
_COMMENT_EDGE = " \t\n\u3000-–—:：,，.。;；!！~～、|｜"
# Full-width digits and punctuation as ASCII ("４", "５分") without changing the text's length.
_HALF_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}


def find_score(reply: str) -> tuple[int, str] | None:
    """(1-5, the rest as a comment) when the reply is just a score ("5", "5分", "4/5", "★★★★", "3 - ok"), else None."""
    reply = reply.strip()
    match = _SCORE.fullmatch(reply.translate(_HALF_WIDTH))  # same length: the comment is sliced from `reply`
    if match is None:
        return None
    if match["stars"]:
        score = len(match["stars"])
    elif match["han"]:
        score = _HAN_DIGITS[match["han"]]
    else:
        score = int(match["digit"])
    rest = match["rest"]
    if rest and not _COMMENT_SEPARATOR.match(rest):
        unit = match["unit"] or match["han_unit"]
        if (match["digit"] and not unit) or (unit == "分" and rest.startswith(_MINUTES)):
            return None
    return score, reply[match.start("rest"):].lstrip(_COMMENT_EDGE).strip()


# --- Complaint numbers --------------------------------------------------------------------------------------------

_COMPLAINT_NUMBER = re.compile(r"(?<![A-Za-z0-9])C-(\d{8})-(\d{4,})(?!\d)", re.IGNORECASE)


_REPLY_PREFIX = re.compile(r"\s*(?:(?:Re|Fw|Fwd|AW|WG|SV|回复|回覆|答复|答覆|转发|轉寄|轉發)\s*[:：]\s*)+",
                           re.IGNORECASE)


def subject_topic(subject: str) -> str:
    """A subject without reply and forward prefixes or complaint numbers: what the sender's language shows in
    ("Re: C-20261130-0001" says nothing about a reply "好的")."""
    return _COMPLAINT_NUMBER.sub(" ", _REPLY_PREFIX.sub("", subject, count=1)).strip()


def find_complaint_numbers(subject: str) -> tuple[str, ...]:
    """Complaint numbers (C-YYYYMMDD-NNNN) named in a subject, in order, each once."""
    found = _COMPLAINT_NUMBER.findall(unicodedata.normalize("NFKC", subject))
    return tuple(dict.fromkeys(f"C-{day}-{sequence}" for day, sequence in found))
