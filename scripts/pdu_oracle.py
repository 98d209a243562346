#!/usr/bin/python3
"""PDU oracle: encodes a corpus with `smsgw encode` and decodes every part with python-gammu
(an independent implementation, gammu.DecodePDU(bytes, SMSC=True)).

Checked per message: destination number, SMSC, the text of every part (the expected split is
computed here independently), coding (GSM 7-bit vs UCS-2),
message class (flash), part numbering (count, sequence, 8-bit reference), the declared TPDU
length (the LEN for AT+CMGS=) and that no part's user data exceeds 140 octets. The expected
alphabet and part count are computed here independently from the rules of TS 23.038/23.040.

Usage: /usr/bin/python3 scripts/pdu_oracle.py path/to/smsgw
"""
import random
import subprocess
import sys

import gammu

GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXT = "\x0c^{}\\[~]|€"
DEFAULT_TO = "+10000000000"


def septet_sizes(text):
    """Per-character septet counts, or None if the text needs UCS-2."""
    sizes = []
    for c in text:
        if c in GSM_EXT:
            sizes.append(2)
        elif c in GSM_BASIC and c != "\x1b":
            sizes.append(1)
        else:
            return None
    return sizes


def utf16_sizes(text):
    return [2 if ord(c) > 0xFFFF else 1 for c in text]


def expectation(text, ucs2=False):
    """(gammu coding name, expected part texts), from the rules of TS 23.038/23.040: 160 septets
    in one part else 153 per part; 70 UTF-16 units else 67; a character is never cut."""
    sizes = None if ucs2 else septet_sizes(text)
    if sizes is not None:
        coding, single, per_part = "Default_No_Compression", 160, 153
    else:
        coding, single, per_part = "Unicode_No_Compression", 70, 67
        sizes = utf16_sizes(text)
    if sum(sizes) <= single:
        return coding, [text]
    chunks, cur, used = [], "", 0
    for c, size in zip(text, sizes):
        if used + size > per_part:
            chunks.append(cur)
            cur, used = "", 0
        cur += c
        used += size
    chunks.append(cur)
    return coding, chunks


def gammu_text_matches(got, want, coding):
    """Compares gammu's text of one part with the expected part text, allowing for two known
    python-gammu 1.42 quirks that lose no information:
    - GSM 7-bit: gammu sizes the text by TP-UDL septets, so after each escape pair it reads one
      character past the end (NUL or garbage): the text must be `want` followed by exactly as
      many extra characters as `want` has escape pairs.
    - UCS-2: gammu doubles every '~' and cuts the result to the original length."""
    if coding == "Default_No_Compression":
        escapes = sum(1 for c in want if c in GSM_EXT)
        return got[: len(want)] == want and len(got) == len(want) + escapes
    if "~" in want:
        return got == want.replace("~", "~~")[: len(want)]
    return got == want


def corpus():
    """(label, text, options dict) triples."""
    rnd = random.Random(20261121)
    out = []
    add = lambda label, text, **o: out.append((label, text, o))
    # 7-bit packing at every length mod 8 (and a few more)
    for n in range(1, 25):
        add(f"pack {n}", "".join(rnd.choice("abcXYZ019@ ") for _ in range(n)))
    # 160 / 161 septets, 2-part and 3-part boundaries
    for n in (159, 160, 161, 162, 305, 306, 307, 459, 460):
        add(f"septets {n}", ("Disk full on db1! " * 40)[:n])
    # escape characters at the 153/154 part boundary and at 160/161
    for k in range(147, 160):
        add(f"escape at {k + 1}", "a" * k + "€" + "b" * 20)
        add(f"bracket at {k + 1}", "x" * k + "[]" + "y" * 10)
    for n in (157, 158, 159, 160):
        add(f"escape end {n}", "e" * n + "€")
    add("all escapes", GSM_EXT * 20)
    add("escape run", "{}" * 160)
    # the whole basic table and extension table
    add("gsm table", GSM_BASIC.replace("\x1b", ""))
    add("gsm ext table", "x" + GSM_EXT)
    # 70 / 71 UCS-2 units, surrogate pairs at the 67/68 boundary
    for n in (69, 70, 71, 72, 134, 135):
        add(f"ucs2 units {n}", "ж" * n)
    for k in range(60, 70):
        add(f"emoji at {k + 1}", "ก" * k + "😀" + "ข" * 10)
    for n in (34, 35, 36, 67, 68):
        add(f"emoji only {n}", "😀" * n)
    # languages
    add("thai", "เซิร์ฟเวอร์ฐานข้อมูลล่ม กรุณาตรวจสอบด่วน")
    add("thai long", "ดิสก์เต็มบนเซิร์ฟเวอร์ db1 " * 8)
    add("cyrillic", "Сервер базы данных недоступен, проверьте срочно!")
    add("cyrillic long", "Тревога: диск заполнен на 99%. " * 9)
    add("greek gsm", "ΔΦΓΛΩΠΨΣΘΞ alarm")
    add("greek ucs2", "Ειδοποίηση: ο δίσκος είναι γεμάτος")
    add("chinese", "数据库服务器宕机，请立即检查。" * 3)
    add("arabic", "تنبيه: الخادم متوقف")
    add("german", "Grüße aus Köln: Festplatte voll, 5 € Ärger")
    add("french ucs2", "Serveur arrêté à 03:00, ça ne va pas")
    add("mixed emoji", "ALERT 🔥 db1 down ⚠️ since 03:00 🚨" * 3)
    add("flags zwj", "👨‍👩‍👧‍👦 🇩🇪 🇹🇭 ✓")
    add("newlines", "line one\nline two\r\nline three")
    add("form feed", "page1\x0cpage2")
    add("all ascii printable", "".join(chr(c) for c in range(32, 127)))
    # numbers: odd/even digit counts, international and national
    for digits in ("1", "12", "123", "0170123", "01701234", "491701234567", "4917012345678",
                   "12345678901234567890"):
        add(f"to {digits}", "number test", to=digits)
        add(f"to +{digits}", "number test", to="+" + digits)
    # options
    add("flash 7bit", "Flash alert", flash=True)
    add("flash ucs2", "Срочно", flash=True)
    add("flash multipart", "F" * 200, flash=True)
    add("report", "with report", report=True)
    add("smsc odd", "via smsc", smsc="+491710760000")
    add("smsc even", "via smsc", smsc="+4917107600001")
    add("smsc national", "via smsc", smsc="01710760")
    add("validity", "validity one day", validity=167)
    add("validity multipart", "V" * 300, validity=255)
    add("force ucs2", "plain ascii", ucs2=True)
    add("force ucs2 long", "plain ascii " * 10, ucs2=True)
    add("ucs2 tilde", "~ж~~x~~~", ucs2=True)
    add("ucs2 tilde long", "a~b~~ж " * 30)
    add("all options", "Ω€ everything " * 15, smsc="+491710760000", flash=True, report=True,
        validity=11, to="+66812345678")
    for ref in (0, 1, 127, 128, 255):
        add(f"ref {ref}", "r" * 170, ref=ref)
    add("six parts gsm", "z" * (153 * 6))
    add("six parts ucs2", "ж" * (67 * 6))
    # random messages over mixed alphabets
    pools = [
        GSM_BASIC.replace("\x1b", "") + GSM_EXT,
        "abcdefghijklmnopqrstuvwxyz ABCDEF 0123456789.,!?",
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюя ",
        "กขฃคฅฆงจฉชซฌญฎฏฐฑฒณดตถทธนบปผฝพฟภมยรลวศษสหฬอฮะาิีึืุู ",
        "😀😂🔥⚠🚨✓€[]abc ",
    ]
    for i in range(100):
        pool = rnd.choice(pools) + (rnd.choice(pools) if rnd.random() < 0.3 else "")
        n = rnd.randint(1, 500)
        text = "".join(rnd.choice(pool) for _ in range(n))
        if len(expectation(text)[1]) > 6:
            text = text[: rnd.randint(1, 60)]
        add(f"random {i}", text, ref=rnd.randint(0, 255))
    return out


def run_encode(smsgw, text, o):
    args = [smsgw, "encode"]
    if "to" in o:
        args += ["--to", o["to"]]
    if "smsc" in o:
        args += ["--smsc", o["smsc"]]
    if o.get("flash"):
        args.append("--flash")
    if o.get("report"):
        args.append("--report")
    if o.get("ucs2"):
        args.append("--ucs2")
    if "validity" in o:
        args += ["--validity", str(o["validity"])]
    args += ["--ref", str(o.get("ref", 0)), "--", text]
    p = subprocess.run(args, capture_output=True, text=True, check=False)
    if p.returncode != 0:
        raise AssertionError(f"smsgw encode failed ({p.returncode}): {p.stderr.strip()}")
    return [line.split(" ", 1) for line in p.stdout.splitlines()]


def check(smsgw, label, text, o):
    coding, chunks = expectation(text, o.get("ucs2", False))
    nparts = len(chunks)
    lines = run_encode(smsgw, text, o)
    errs = []
    if len(lines) != nparts:
        errs.append(f"{len(lines)} parts, expected {nparts}")
        return errs
    to = o.get("to", DEFAULT_TO)
    for i, (length, hexpdu) in enumerate(lines):
        pdu = bytes.fromhex(hexpdu)
        tpdu_len = len(pdu) - (pdu[0] + 1)
        if int(length) != tpdu_len:
            errs.append(f"part {i + 1}: LEN {length} but TPDU has {tpdu_len} octets")
        d = gammu.DecodePDU(pdu, SMSC=True)
        if d["Type"] != "Submit":
            errs.append(f"part {i + 1}: type {d['Type']}")
        if d["Number"] != to:
            errs.append(f"part {i + 1}: number {d['Number']!r} != {to!r}")
        if d["SMSC"]["Number"] != o.get("smsc", ""):
            errs.append(f"part {i + 1}: smsc {d['SMSC']['Number']!r}")
        if d["Coding"] != coding:
            errs.append(f"part {i + 1}: coding {d['Coding']} != {coding}")
        want_class = 0 if o.get("flash") else -1
        if d["Class"] != want_class:
            errs.append(f"part {i + 1}: class {d['Class']} != {want_class}")
        udh = d["UDH"]
        if nparts == 1:
            if udh["Type"] != "NoUDH":
                errs.append(f"single part has UDH {udh['Type']}")
        elif (udh["Type"], udh["ID8bit"], udh["PartNumber"], udh["AllParts"]) != (
            "ConcatenatedMessages", o.get("ref", 0), i + 1, nparts):
            errs.append(f"part {i + 1}: UDH {udh}")
        # user data octets = TPDU minus FO, MR, DA, PID, DCS, [VP], UDL
        digits = len(to.lstrip("+"))
        header = 1 + 1 + 2 + (digits + 1) // 2 + 1 + 1 + (1 if "validity" in o else 0) + 1
        if tpdu_len - header > 140:
            errs.append(f"part {i + 1}: {tpdu_len - header} user data octets")
        got = d["Text"]
        if not isinstance(got, str) or not gammu_text_matches(got, chunks[i], coding):
            errs.append(f"part {i + 1}: text {str(got)[:50]!r}... want {chunks[i][:50]!r}...")
    return errs


def check_errors(smsgw):
    """Refusals: non-zero exit and a clear message, no output on stdout."""
    fails = []
    cases = [
        (["--to", "+49 170", "x"], "invalid phone number"),
        (["--to", "abc", "x"], "invalid phone number"),
        (["--smsc", "12x", "x"], "invalid phone number"),
        (["--", "a" * (153 * 6 + 1)], "message too long: needs 7 SMS parts, at most 6 allowed"),
        (["--max-parts", "1", "ж" * 71], "message too long: needs 2 SMS parts, at most 1 allowed"),
    ]
    for args, msg in cases:
        p = subprocess.run([smsgw, "encode", *args], capture_output=True, text=True, check=False)
        if p.returncode == 0 or msg not in p.stderr or p.stdout:
            fails.append(f"encode {args[:2]}...: rc={p.returncode} stderr={p.stderr.strip()!r}")
    return fails


def main():
    smsgw = sys.argv[1] if len(sys.argv) > 1 else "target/release/smsgw"
    cases = corpus()
    failures = 0
    parts_total = 0
    for label, text, o in cases:
        try:
            errs = check(smsgw, label, text, o)
        except Exception as e:  # noqa: BLE001 - report and count any crash as a mismatch
            errs = [f"exception: {e}"]
        parts_total += len(expectation(text, o.get("ucs2", False))[1])
        if errs:
            failures += 1
            print(f"MISMATCH {label}: " + "; ".join(errs))
    refusal_fails = check_errors(smsgw)
    for f in refusal_fails:
        print(f"MISMATCH refusal: {f}")
    print(f"pdu oracle: {len(cases) - failures}/{len(cases)} messages ({parts_total} parts) match "
          f"python-gammu {gammu.Version()[0]}; {5 - len(refusal_fails)}/5 refusals correct")
    if failures or refusal_fails or len(cases) < 200:
        sys.exit(1)


if __name__ == "__main__":
    main()
