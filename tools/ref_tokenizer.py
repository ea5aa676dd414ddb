#!/usr/bin/env python3
"""Reference tokenizations for tests/tokenizer, made with the Hugging Face `tokenizers` library.

Writes under tests/data/tokenizer/:
  smollm2_golden.json      SmolLM2's vocabulary and merges read from the GGUF (with the `gguf`
                           package) into an HF tokenizer.json with SmolLM2's pre-tokenizer
                           (Digits(individual_digits) + ByteLevel), encoded by HF.
  pretokenizer_golden.json HF pre_tokenize_str pieces for the GPT-2, SmolLM, Llama-3, Qwen2 splits,
                           and Python's NFC of every string.
  <name>/tokenizer.json    small tokenizers trained here (they need no download):
                           llama3_bpe (Llama-3 Split regex, ignore_merges), qwen2_bpe (Qwen2 regex,
                           NFC normalizer, lstrip/rstrip added tokens), gpt2_bpe (ByteLevel regex),
                           smollm_bpe (Digits + ByteLevel, as SmolLM2's tokenizer.json),
                           spm_legacy (Llama-2 style: Prepend/Replace normalizer, byte fallback),
                           spm_metaspace (Metaspace pre-tokenizer, prepend_scheme "first"),
                           spm_metaspace_split (Metaspace, "always", split at every ▁).
  <name>_golden.json       their encodings of the same strings.
  spm_scores.gguf          the spm vocabulary as a GGUF "llama" tokenizer (scores, token types);
  spm_scores_golden.json   HF encodings of the same vocabulary with SentencePiece merge order
                           (every split of a piece, ranked by the merged piece's score).

Usage: python3 tools/ref_tokenizer.py [path/to/SmolLM2-135M-Instruct.Q4_1.gguf]
"""
import glob
import json
import random
import sys
import unicodedata
from pathlib import Path

from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests/data/tokenizer"

GPT2_RE = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"
LLAMA3_RE = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"
             r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN2_RE = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}|"
            r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")

MULTILINGUAL = """Le café est très bon. Où est la bibliothèque? Ça va très bien, merci.
Die Straße ist schön. Grüße aus München! Äpfel und Öl für Übermorgen.
Привет, как дела? Москва — столица России. Ёлка и щука.
你好，世界！我们今天去北京。中文分词很有意思。
こんにちは世界。東京は日本の首都です。カタカナとひらがな。
Γειά σου κόσμε. Η Αθήνα είναι όμορφη.
안녕하세요 세계. 서울은 한국의 수도입니다.
مرحبا بالعالم. هذه جملة عربية.
def main(argv):\n    return 0  # comment\n\tif (x != 3) { y += 42; }
Numbers: 3.14159, 2718281828, 1,000,000 and 0x1F; dates 2024-05-17, 12:30.
"""

SPECIAL_SMOLLM = ["<|im_start|>", "<|im_end|>", "<|endoftext|>"]


def tricky_strings():
    s = [
        "", " ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", " \n ", "\t\t\tx", "x\t\t\t",
        "Hello world", "Hello  world", "Hello   world", " Hello", "  Hello", "Hello ", "Hello  ",
        "hello\nworld", "hello\n\nworld", "hello \n world", "line1\r\nline2\r\n", "a\n \n b",
        "trailing spaces   ", "   leading spaces", "tabs\tand\tspaces \t mixed",
        "I'm", "you're", "they've", "we'll", "he'd", "it's", "don't", "can't",
        "I'M", "YOU'RE", "THEY'VE", "WE'LL", "HE'D", "IT'S", "DON'T", "It'S", "we'Ll",
        "'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "''", "'''s", " 's", "x's's", "'ſ", "'ẞ",
        "rock'n'roll", "O'Neil's", "l'amour d'été", "‘curly’ quotes", "“double”",
        "0", "1", "12", "123", "1234", "12345", "123456", "1234567", "31415926535897932384626",
        " 42", "  42", "a1", "a12b345c6789", "1.5", "1,000,000", "3.14159e-10", "-7", "+8",
        "0x1F", "v2.0.1", "2024-05-17T12:30:00Z", "#1", "$100", "100%", "½ ¾ ²³ ⅓ ⅛",
        "٠١٢٣٤٥٦٧٨٩", "१२३", "①②③", "Ⅻ", "𝟘𝟙𝟚",
        "café", "naïve", "résumé", "Ångström", "façade", "coöperate", "ﬁne", "Straße", "ǅ",
        "e\u0301", "a\u0308\u0304", "\u0301alone", "n\u0303o", "Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫǧ̗͚̚o̙̔ͮ̇͐̇",
        "你好", "你好世界", "中文 English 混合", "日本語のテキスト", "한국어 텍스트", "ไทย ภาษา",
        "Привет мир", "Ελληνικά", "עברית", "العربية", "हिन्दी", "ქართული", "Հայերեն",
        "🙂", "🙂🙂", "🙂 🙂", "Hello 🙂 world", "👍🏽", "👨‍👩‍👧‍👦", "🇫🇷🇩🇪", "❤️", "☃", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
        "a🙂b", "🙂123", "x 🙂\n", "😀😃😄😁😆😅😂🤣",
        "\u200b", "a\u200bb", "\u200d", "\ufeffBOM", "\u00a0", "a\u00a0b", "a\u2003b", "a\u3000b",
        "\u2028", "a\u2029b", "\u0085", "a\u0085b", "\x0b\x0c", "\x1c\x1d\x1e\x1f", "a\x1fb",
        "\x00", "a\x00b", "\x01\x02\x03", "\x7f", "\ufffd", "\ufffd\ufffd", "\uffff", "\U0010fffd",
        "\U0001f600", "\ue000", "a\u0600b",
        "!!!", "...", "?!", "!?!?", "---", "___", "***bold***", "(parens)", "[brackets]",
        "{braces}", "<angle>", "a+b=c", "x*y/z", "50/50", "C++", "C#", "f(x) = 2x + 1",
        "snake_case_name", "camelCaseName", "kebab-case-name", "SCREAMING_CASE",
        "http://example.com/path?q=1&b=2#frag", "user@example.com", "/usr/local/bin",
        "C:\\Windows\\System32", "`code`", "```python\nprint('hi')\n```",
        "def f(x):\n    return x * 2\n", "for (int i = 0; i < n; ++i) {\n\tsum += a[i];\n}",
        "<html><body>Hi</body></html>", '{"key": "value", "n": [1, 2, 3]}',
        "    indented", "\tindented", "\n\n\nparagraph", "end\n", "end\n\n", "end \n",
        "a  b   c    d     e", "x\t \ty", " \t\n\r ", "word.\nNext", "word!\n\n\nNext",
        "<|im_start|>", "<|im_end|>", "<|endoftext|>", "<|im_start|>user\nHi<|im_end|>\n",
        "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>assistant\n",
        "text<|im_end|>text", " <|im_start|> ", "<|im_start|><|im_end|>", "<|im_start",
        "im_start|>", "<|im_start|x", "<<|im_start|>>", "<|endoftext|><|endoftext|>",
        "<s>", "</s>", "<unk>", "<s>Hello</s>", "Hello <s> world", " <s>", "<0x41>",
        "<repo_name>", "<file_sep>name", "<|IM_START|>",
        "The quick brown fox jumps over the lazy dog.",
        "THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG!",
        "Mr. Smith's 3 cats (ages 2, 5, and 11) aren't friendly.",
        "She said, \"It's 5 o'clock somewhere!\" and left.",
        "Ünïcödé tëxt wïth lóts óf áccénts",
        "Emoji at end 🎉", "🎉 Emoji at start", "Mixed: abc123DEF456!@#",
        "repeated " * 20, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "ab" * 40,
        "1" * 50, " " * 33, "\n" * 7, "\t" * 5 + "x", "!" * 30, "🙂" * 12,
        "Ω≈ç√∫˜µ≤≥÷", "åß∂ƒ©˙∆˚¬…æ", "œ∑´®†¥¨ˆøπ“‘", "¡™£¢∞§¶•ªº–≠", "¸˛Ç◊ı˜Â¯˘¿",
        "ÅÍÎÏ˝ÓÔÒÚÆ☃", "Œ„´‰ˇÁ¨ˆØ∏”’", "`⁄€‹›ﬁﬂ‡°·‚—±", "⅛⅜⅝⅞", "ЁЂЃЄЅІЇЈЉЊЋЌЍЎЏ",
        "田中さんにあげて下さい", "パーティーへ行かないか", "和製漢語", "部落格", "사회과학원 어학연구소",
        "찦차를 타고 온 펲시맨과 쑛다리 똠방각하", "社會科學院語學研究所", "울란바토르",
        "𠜎𠜱𠝹𠱓𠱸𠲖𠳏", "ヽ༼ຈل͜ຈ༽ﾉ", "(｡◕ ∀ ◕｡)", "｀ｨ(´∀｀∩", "__ﾛ(,_,*)", "・(￣∀￣)・:*:",
        "Ⱥ", "Ⱦ", "ȺȾ", "ᚠᛇᚻ᛫ᛒᛦᚦ", "ʇxǝʇ uʍop ǝpısdn", "ﷺ", "ﷻ", "❤︎", "‪‪test‪", "‫test‫",
        "test⁠test", "⁦test⁧", "Ṱ̺̺̕o͞ ̷i̲̬͇̪͙n̝̗͕v̟̜̘̦͟o̶̙̰̠kè͚̮̺̪̹̱̤ ̖t̝͕̳̣̻̪͞h̼͓̲̦̳̘̲e͇̣̰̦̬͎ ̢̼̻̱̘h͚͎͙̜̣̲ͅi̦̲̣̰̤v̻͍e̺̭̳̪̰-m̢iͅn̖̺̞̲̯̰d̵̼̟͙̩̼̘̳",
        MULTILINGUAL,
        # NFC: decomposed / composed pairs, reordering, singletons, exclusions, Hangul jamo
        "e\u0301t\u00e9", "a\u0323\u0302", "a\u0302\u0323", "\u1ea1\u0302", "\u212b", "\u2126",
        "\u0958\u0959", "\u0344", "\u0340\u0341", "\u1100\u1161\u11a8", "\u1100\u1161 \u11a8",
        "\uac00\u11a8", "\u1112\u1173\u11ab\u1100\u1173\u11af", "o\u0308\u0304", "\u00f6\u0304",
        "\u0041\u030a\u0301", "\u0b47\u0b3e", "\u0DD9\u0DCF\u0DCA", "\u1026\u102e", "\u05d1\u05bc\u05bf",
        "\u0301\u0041", "Ａ\u0308", "ﬀ\u0301", "\U0001d15e\U0001d165", "\u3099\u304b\u3099",
        # added tokens with lstrip / rstrip
        "a <mask> b", "a  <mask>  b", "<mask>", " <mask>", "x\t\n <mask>", "<sep> x", "a<sep>  \n b",
        "p [both] q", "  [both]  ", "<mask><sep> <mask>", "<sep>  <mask>", "a\u3000<mask>\u3000b",
    ]
    rng = random.Random(1234)
    alphabet = ("abcXYZ019 '\t\n\r.,!?-_é中🙂ß" + "\u00a0\u0301\u200b'sS" + "ﬁ١٢Ωж")
    for _ in range(40):
        n = rng.randint(1, 40)
        s.append("".join(rng.choice(alphabet) for _ in range(n)))
    seen, out = set(), []
    for x in s:
        if x not in seen:
            seen.add(x)
            out.append(x)
    return out


def corpus():
    texts = [MULTILINGUAL] * 20
    for f in sorted(glob.glob("/usr/share/common-licenses/*"))[:12]:
        try:
            texts.append(Path(f).read_text(encoding="utf-8", errors="ignore"))
        except OSError:
            pass
    return texts


def encode_all(tok, strings, decode=True):
    cases = []
    for s in strings:
        tok.encode_special_tokens = False
        ids = tok.encode(s, add_special_tokens=False).ids
        tok.encode_special_tokens = True
        ids_plain = tok.encode(s, add_special_tokens=False).ids
        tok.encode_special_tokens = False
        case = {"text": s, "ids": ids, "ids_no_special": ids_plain}
        if decode:
            case["decoded"] = tok.decode(ids, skip_special_tokens=False)
        cases.append(case)
    return cases


def write_json(path, obj):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, ensure_ascii=True, indent=0) + "\n")
    print("wrote", path.relative_to(ROOT))


def write_tokenizer(folder, tok_json, config=None):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tokenizer.json").write_text(json.dumps(tok_json, ensure_ascii=False))
    if config is not None:
        (folder / "tokenizer_config.json").write_text(json.dumps(config, ensure_ascii=False, indent=1))
    print("wrote", folder.relative_to(ROOT))


# ---- SmolLM2 from the GGUF -------------------------------------------------------------------

def smollm2_tokenizer(gguf_path):
    from gguf import GGUFReader
    r = GGUFReader(gguf_path)

    def strings(key):
        f = r.fields[key]
        return [bytes(f.parts[i]).decode("utf-8") for i in f.data]

    tokens = strings("tokenizer.ggml.tokens")
    merges = strings("tokenizer.ggml.merges")
    tt = r.fields["tokenizer.ggml.token_type"]
    types = [int(tt.parts[i][0]) for i in tt.data]
    assert r.fields["tokenizer.ggml.pre"].contents() == "smollm"
    added = [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": True} for i, t in enumerate(tokens) if types[i] == 3]
    tj = {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
        "normalizer": None,
        # SmolLM2's tokenizer.json: Digits(individual_digits) then ByteLevel with its regex.
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Digits", "individual_digits": True},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}]},
        "post_processor": None,
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True,
                    "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None,
                  "continuing_subword_prefix": None, "end_of_word_suffix": None, "fuse_unk": False,
                  "byte_fallback": False, "ignore_merges": False,
                  "vocab": {t: i for i, t in enumerate(tokens)},
                  "merges": [m.split(" ", 1) for m in merges]},
    }
    return Tokenizer.from_str(json.dumps(tj))


# ---- small trained tokenizers ------------------------------------------------------------------

def train_byte_level(regex, ignore_merges):
    """regex: a Split pattern, or "gpt2" (ByteLevel's own), or "smollm" (Digits + ByteLevel)."""
    tok = Tokenizer(models.BPE())
    if regex == "gpt2":
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    elif regex == "smollm":
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
    else:
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(regex), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    specials = ["<|begin_of_text|>", "<|end_of_text|>", "<|im_start|>", "<|im_end|>"]
    tr = trainers.BpeTrainer(vocab_size=1200, special_tokens=specials, show_progress=False,
                             initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(corpus(), tr)
    j = json.loads(tok.to_str())
    j["model"]["ignore_merges"] = ignore_merges
    # BOS added by the post-processor, as Llama-3's tokenizer.json does.
    j["post_processor"] = {
        "type": "TemplateProcessing",
        "single": [{"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}},
                   {"Sequence": {"id": "A", "type_id": 0}}],
        "pair": [{"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}},
                 {"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
        "special_tokens": {"<|begin_of_text|>": {"id": "<|begin_of_text|>", "ids": [0],
                                                 "tokens": ["<|begin_of_text|>"]}}}
    return j


SPM_SPECIALS = ["<unk>", "<s>", "</s>"] + ["<0x%02X>" % i for i in range(256)]


def train_spm():
    tok = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tr = trainers.BpeTrainer(vocab_size=1500, special_tokens=SPM_SPECIALS, show_progress=False)
    tok.train_from_iterator(corpus(), tr)
    j = json.loads(tok.to_str())
    # Byte pieces are ordinary vocabulary, not added tokens (as in Llama-2's tokenizer.json).
    j["added_tokens"] = [a for a in j["added_tokens"] if not a["content"].startswith("<0x")]
    return j


def spm_legacy(j):
    j = json.loads(json.dumps(j))
    j["normalizer"] = {"type": "Sequence", "normalizers": [
        {"type": "Prepend", "prepend": "▁"},
        {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]}
    j["pre_tokenizer"] = None
    j["decoder"] = {"type": "Sequence", "decoders": [
        {"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
        {"type": "ByteFallback"}, {"type": "Fuse"},
        {"type": "Strip", "content": " ", "start": 1, "stop": 0}]}
    return j


def spm_metaspace(j):
    j = json.loads(json.dumps(j))
    j["normalizer"] = None
    j["pre_tokenizer"] = {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first",
                          "split": False}
    j["decoder"] = spm_legacy(j)["decoder"]  # Mistral's: Replace, ByteFallback, Fuse, Strip
    return j


def spm_metaspace_split(j):
    """The pre-tokenizer the vocabulary was trained with: Metaspace, "always", split at each ▁."""
    j = json.loads(json.dumps(j))
    j["decoder"] = spm_legacy(j)["decoder"]
    return j


def spm_score_order(j):
    """The same vocabulary as sentencepiece would merge it: a score per piece (earlier pieces
    score higher), and as merges every split of a piece into two pieces, by score."""
    vocab = j["model"]["vocab"]
    n = len(vocab)
    scores = {t: -float(i) for t, i in vocab.items()}
    merges = []
    for t, i in vocab.items():
        if i < len(SPM_SPECIALS):
            continue
        for k in range(1, len(t)):
            a, b = t[:k], t[k:]
            if a in vocab and b in vocab and vocab[a] >= len(SPM_SPECIALS) and vocab[b] >= len(SPM_SPECIALS):
                merges.append((scores[t], vocab[a], a, b))
    merges.sort(key=lambda m: (-m[0], m[1]))
    k = spm_legacy(j)
    k["model"]["merges"] = [[a, b] for _, _, a, b in merges]
    return k, scores, n


def write_spm_gguf(path, j, scores):
    import gguf
    vocab = sorted(j["model"]["vocab"].items(), key=lambda kv: kv[1])
    w = gguf.GGUFWriter(str(path), arch="llama")
    w.add_tokenizer_model("llama")
    w.add_token_list([t for t, _ in vocab])
    w.add_token_scores([scores[t] for t, _ in vocab])
    types = []
    for t, i in vocab:
        if t == "<unk>":
            types.append(2)
        elif t in ("<s>", "</s>"):
            types.append(3)
        elif t.startswith("<0x") and len(t) == 6:
            types.append(6)
        else:
            types.append(1)
    w.add_token_types(types)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_unk_token_id(0)
    w.add_add_bos_token(True)
    w.add_add_space_prefix(True)
    w.add_chat_template("{{ bos_token }}{% for m in messages %}[INST] {{ m['content'] }} [/INST]{% endfor %}")
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    print("wrote", path.relative_to(ROOT))


def main():
    gguf_path = Path(sys.argv[1]) if len(sys.argv) > 1 else \
        ROOT / "models/SmolLM2-135M-Instruct.Q4_1.gguf"
    strings = tricky_strings()
    print(len(strings), "strings")

    smol = smollm2_tokenizer(str(gguf_path))
    cases = encode_all(smol, strings)
    for c in cases:
        if c["decoded"] != c["text"]:
            print("HF round trip differs:", ascii(c["text"]), ascii(c["decoded"]))
    write_json(OUT / "smollm2_golden.json", {"source": gguf_path.name, "cases": cases})

    pieces = {}
    for name, pre in [
        ("gpt2", pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)),
        ("smollm", pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                            pre_tokenizers.ByteLevel(add_prefix_space=False)])),
        ("llama3", pre_tokenizers.Split(Regex(LLAMA3_RE), behavior="isolated")),
        ("qwen2", pre_tokenizers.Split(Regex(QWEN2_RE), behavior="isolated")),
    ]:
        # Offsets (in characters) rather than piece text: ByteLevel rewrites the text.
        pieces[name] = [[[a, b] for _, (a, b) in pre.pre_tokenize_str(s)] for s in strings]
    nfc = [unicodedata.normalize("NFC", s) for s in strings]
    write_json(OUT / "pretokenizer_golden.json", {"strings": strings, "pieces": pieces, "nfc": nfc,
                                                  "unicode_version": unicodedata.unidata_version})

    for name, regex, ignore in [("llama3_bpe", LLAMA3_RE, True), ("qwen2_bpe", QWEN2_RE, False),
                                ("gpt2_bpe", "gpt2", False), ("smollm_bpe", "smollm", False)]:
        j = train_byte_level(regex, ignore)
        if name == "qwen2_bpe":
            j["normalizer"] = {"type": "NFC"}  # as Qwen2's tokenizer.json
            # Added tokens that swallow the whitespace beside them (RoBERTa's <mask> style).
            n = len(j["model"]["vocab"])
            for k, (text, l, r, special) in enumerate([("<mask>", True, False, True),
                                                       ("<sep>", False, True, True),
                                                       ("[both]", True, True, False)]):
                j["added_tokens"].append({"id": n + k, "content": text, "single_word": False,
                                          "lstrip": l, "rstrip": r, "normalized": False,
                                          "special": special})
        write_tokenizer(OUT / name, j, {"add_bos_token": name == "llama3_bpe",
                                        "bos_token": "<|begin_of_text|>",
                                        "eos_token": "<|end_of_text|>",
                                        "chat_template": "{% for m in messages %}{{ m['content'] }}{% endfor %}"})
        tok = Tokenizer.from_str(json.dumps(j))
        write_json(OUT / f"{name}_golden.json", {"cases": encode_all(tok, strings)})

    base = train_spm()
    config = {"add_bos_token": True, "bos_token": "<s>",
              "eos_token": {"content": "</s>", "special": True}, "unk_token": "<unk>"}
    for name, j in [("spm_legacy", spm_legacy(base)), ("spm_metaspace", spm_metaspace(base)),
                    ("spm_metaspace_split", spm_metaspace_split(base))]:
        write_tokenizer(OUT / name, j, config)
        tok = Tokenizer.from_str(json.dumps(j))
        write_json(OUT / f"{name}_golden.json", {"cases": encode_all(tok, strings)})

    scored, scores, _ = spm_score_order(base)
    write_spm_gguf(OUT / "spm_scores.gguf", base, scores)
    tok = Tokenizer.from_str(json.dumps(scored))
    write_json(OUT / "spm_scores_golden.json", {"cases": encode_all(tok, strings)})


if __name__ == "__main__":
    main()
