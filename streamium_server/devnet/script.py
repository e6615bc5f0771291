"""Output and input scripts as the devnet must judge and print them: Bitcoin
Core's Solver (which output types are standard) and push-only test, and the
rust-bitcoin asm and type names that electrs prints in its JSON."""

from collections.abc import Iterator

OP_0, OP_PUSHDATA1, OP_PUSHDATA2, OP_PUSHDATA4 = 0x00, 0x4C, 0x4D, 0x4E
OP_1, OP_16, OP_RETURN = 0x51, 0x60, 0x6A
OP_DUP, OP_EQUAL, OP_EQUALVERIFY, OP_HASH160 = 0x76, 0x87, 0x88, 0xA9
OP_CHECKSIG, OP_CHECKMULTISIG = 0xAC, 0xAE
MAX_OPCODE = 0xB9  # Core's script.h: OP_NOP10 (OP_CHECKSIGADD, 0xba, lies above it)
MAX_SCRIPT_SIZE = 10_000
MAX_SCRIPT_ELEMENT_SIZE = 520
ANCHOR = bytes([OP_1, 2, 0x4E, 0x73])  # Core 28's pay-to-anchor, OP_1 <0x4e73>

OPCODES = {
    0x00: "OP_0", 0x4C: "OP_PUSHDATA1", 0x4D: "OP_PUSHDATA2", 0x4E: "OP_PUSHDATA4",
    0x4F: "OP_PUSHNUM_NEG1", 0x50: "OP_RESERVED", 0x61: "OP_NOP", 0x62: "OP_VER", 0x63: "OP_IF",
    0x64: "OP_NOTIF", 0x65: "OP_VERIF", 0x66: "OP_VERNOTIF", 0x67: "OP_ELSE", 0x68: "OP_ENDIF",
    0x69: "OP_VERIFY", 0x6A: "OP_RETURN", 0x6B: "OP_TOALTSTACK", 0x6C: "OP_FROMALTSTACK",
    0x6D: "OP_2DROP", 0x6E: "OP_2DUP", 0x6F: "OP_3DUP", 0x70: "OP_2OVER", 0x71: "OP_2ROT",
    0x72: "OP_2SWAP", 0x73: "OP_IFDUP", 0x74: "OP_DEPTH", 0x75: "OP_DROP", 0x76: "OP_DUP",
    0x77: "OP_NIP", 0x78: "OP_OVER", 0x79: "OP_PICK", 0x7A: "OP_ROLL", 0x7B: "OP_ROT",
    0x7C: "OP_SWAP", 0x7D: "OP_TUCK", 0x7E: "OP_CAT", 0x7F: "OP_SUBSTR", 0x80: "OP_LEFT",
    0x81: "OP_RIGHT", 0x82: "OP_SIZE", 0x83: "OP_INVERT", 0x84: "OP_AND", 0x85: "OP_OR",
    0x86: "OP_XOR", 0x87: "OP_EQUAL", 0x88: "OP_EQUALVERIFY", 0x89: "OP_RESERVED1",
    0x8A: "OP_RESERVED2", 0x8B: "OP_1ADD", 0x8C: "OP_1SUB", 0x8D: "OP_2MUL", 0x8E: "OP_2DIV",
    0x8F: "OP_NEGATE", 0x90: "OP_ABS", 0x91: "OP_NOT", 0x92: "OP_0NOTEQUAL", 0x93: "OP_ADD",
    0x94: "OP_SUB", 0x95: "OP_MUL", 0x96: "OP_DIV", 0x97: "OP_MOD", 0x98: "OP_LSHIFT",
    0x99: "OP_RSHIFT", 0x9A: "OP_BOOLAND", 0x9B: "OP_BOOLOR", 0x9C: "OP_NUMEQUAL",
    0x9D: "OP_NUMEQUALVERIFY", 0x9E: "OP_NUMNOTEQUAL", 0x9F: "OP_LESSTHAN", 0xA0: "OP_GREATERTHAN",
    0xA1: "OP_LESSTHANOREQUAL", 0xA2: "OP_GREATERTHANOREQUAL", 0xA3: "OP_MIN", 0xA4: "OP_MAX",
    0xA5: "OP_WITHIN", 0xA6: "OP_RIPEMD160", 0xA7: "OP_SHA1", 0xA8: "OP_SHA256", 0xA9: "OP_HASH160",
    0xAA: "OP_HASH256", 0xAB: "OP_CODESEPARATOR", 0xAC: "OP_CHECKSIG", 0xAD: "OP_CHECKSIGVERIFY",
    0xAE: "OP_CHECKMULTISIG", 0xAF: "OP_CHECKMULTISIGVERIFY", 0xB0: "OP_NOP1", 0xB1: "OP_CLTV",
    0xB2: "OP_CSV", 0xBA: "OP_CHECKSIGADD", 0xFF: "OP_INVALIDOPCODE",
}
OPCODES.update({0x50 + n: f"OP_PUSHNUM_{n}" for n in range(1, 17)})
OPCODES.update({0xB0 + n: f"OP_NOP{n + 1}" for n in range(3, 10)})
OPCODES.update({n: f"OP_RETURN_{n}" for n in range(0xBB, 0xFF)})

# Core's TxoutType names for the standard output types, as policy.py reports them.
P2PK, P2PKH, P2SH, MULTISIG, NULL_DATA = "pubkey", "pubkeyhash", "scripthash", "multisig", "nulldata"
P2WPKH, P2WSH, P2TR, ANCHOR_TYPE, WITNESS_UNKNOWN = (
    "witness_v0_keyhash", "witness_v0_scripthash", "witness_v1_taproot", "anchor", "witness_unknown")
NONSTANDARD = "nonstandard"


class ScriptError(ValueError):
    """A push runs past the end of the script."""


def ops(data: bytes) -> Iterator[tuple[int, bytes | None]]:
    """(opcode, pushed bytes or None) for each operation, as Core's GetScriptOp reads them."""
    i = 0
    while i < len(data):
        op = data[i]
        i += 1
        if op > OP_PUSHDATA4:
            yield op, None
            continue
        if op < OP_PUSHDATA1:
            size = op
        else:
            width = {OP_PUSHDATA1: 1, OP_PUSHDATA2: 2, OP_PUSHDATA4: 4}[op]
            if i + width > len(data):
                raise ScriptError("push length past the end")
            size = int.from_bytes(data[i:i + width], "little")
            i += width
        if i + size > len(data):
            raise ScriptError("push past the end")
        yield op, data[i:i + size]
        i += size


def is_push_only(data: bytes) -> bool:
    """Core's CScript::IsPushOnly: every operation is at most OP_16."""
    try:
        return all(op <= OP_16 for op, _ in ops(data))
    except ScriptError:
        return False


def witness_program(data: bytes) -> tuple[int, bytes] | None:
    """(version, program) when `data` is a witness program (BIP141), else None."""
    if not 4 <= len(data) <= 42 or not (data[0] == OP_0 or OP_1 <= data[0] <= OP_16):
        return None
    if data[1] + 2 != len(data):
        return None
    return (0 if data[0] == OP_0 else data[0] - OP_1 + 1), data[2:]


def _valid_pubkey_size(key: bytes) -> bool:
    return (len(key) == 33 and key[0] in (2, 3)) or (len(key) == 65 and key[0] in (4, 6, 7))


def _small_int(op: int) -> int | None:
    return 0 if op == OP_0 else (op - OP_1 + 1 if OP_1 <= op <= OP_16 else None)


def solve(data: bytes) -> tuple[str, int, int]:
    """Core's Solver: (type, m, n); m and n only mean something for bare multisig."""
    program = witness_program(data)
    if data == ANCHOR:
        return ANCHOR_TYPE, 0, 0
    if program:
        version, body = program
        if version == 0 and len(body) == 20:
            return P2WPKH, 0, 0
        if version == 0 and len(body) == 32:
            return P2WSH, 0, 0
        if version == 1 and len(body) == 32:
            return P2TR, 0, 0
        return (WITNESS_UNKNOWN if version else NONSTANDARD), 0, 0
    if len(data) == 23 and data[:2] == bytes([OP_HASH160, 20]) and data[-1] == OP_EQUAL:
        return P2SH, 0, 0
    if len(data) == 25 and data[:3] == bytes([OP_DUP, OP_HASH160, 20]) and data[-2:] == bytes(
            [OP_EQUALVERIFY, OP_CHECKSIG]):
        return P2PKH, 0, 0
    if data[:1] == bytes([OP_RETURN]) and is_push_only(data[1:]):
        return NULL_DATA, 0, 0
    try:
        parsed = list(ops(data))
    except ScriptError:
        return NONSTANDARD, 0, 0
    if len(data) in (35, 67) and data[0] == len(data) - 2 and data[-1] == OP_CHECKSIG \
            and _valid_pubkey_size(data[1:-1]):  # MatchPayToPubkey: a direct push only
        return P2PK, 0, 0
    if len(parsed) >= 4 and parsed[-1] == (OP_CHECKMULTISIG, None):
        m, n = _small_int(parsed[0][0]), _small_int(parsed[-2][0])
        keys = [push for _, push in parsed[1:-2]]
        if m and n and 1 <= m <= n == len(keys) and all(k is not None and _valid_pubkey_size(k) for k in keys):
            return MULTISIG, m, n
    return NONSTANDARD, 0, 0


def has_valid_ops(data: bytes) -> bool:
    """Core's CScript::HasValidOps: it parses, every opcode is defined, no push over 520 bytes."""
    try:
        return all(op <= MAX_OPCODE and (push is None or len(push) <= MAX_SCRIPT_ELEMENT_SIZE)
                   for op, push in ops(data))
    except ScriptError:
        return False


def is_unspendable(data: bytes) -> bool:
    """Core's CScript::IsUnspendable: OP_RETURN first, or too large to ever run."""
    return data[:1] == bytes([OP_RETURN]) or len(data) > MAX_SCRIPT_SIZE


def script_asm(data: bytes) -> str:
    """rust-bitcoin's asm notation, as electrs prints it."""
    parts, i = [], 0
    while i < len(data):
        op = data[i]
        i += 1
        if 0x01 <= op <= 0x4B:
            size, name = op, f"OP_PUSHBYTES_{op}"
        elif op in (OP_PUSHDATA1, OP_PUSHDATA2, OP_PUSHDATA4):
            width = {OP_PUSHDATA1: 1, OP_PUSHDATA2: 2, OP_PUSHDATA4: 4}[op]
            if i + width > len(data):
                parts.append("<unexpected end>")
                break
            size, name = int.from_bytes(data[i:i + width], "little"), OPCODES[op]
            i += width
        else:
            parts.append(OPCODES[op])
            continue
        if i + size > len(data):
            parts.append("<push past end>")
            break
        parts.append(f"{name} {data[i:i + size].hex()}")
        i += size
    return " ".join(parts)


# rust-bitcoin's ReturnOp and IllegalOp classes: a script starting with one can never be spent.
NEVER_SPENDABLE_FIRST = {0x50, 0x62, 0x65, 0x66, 0x6A, 0x7E, 0x7F, 0x80, 0x81, 0x83, 0x84, 0x85, 0x86,
                         0x89, 0x8A, 0x8D, 0x8E, 0x95, 0x96, 0x97, 0x98, 0x99, *range(0xBB, 0x100)}


def esplora_type(data: bytes) -> str:
    """`scriptpubkey_type`, tested in the order mempool/electrs' rest.rs tests it."""
    size = len(data)
    if not data:
        return "empty"
    if data[0] == OP_RETURN:
        return "op_return"
    if (size == 35 and data[0] == 33 or size == 67 and data[0] == 65) and data[-1] == OP_CHECKSIG:
        return "p2pk"
    kind = solve(data)[0]
    for known, name in ((P2PKH, "p2pkh"), (P2SH, "p2sh"), (P2WPKH, "v0_p2wpkh"), (P2WSH, "v0_p2wsh"),
                        (P2TR, "v1_p2tr"), (ANCHOR_TYPE, "anchor")):
        if kind == known:
            return name
    if data[0] in NEVER_SPENDABLE_FIRST:
        return "provably_unspendable"
    if size >= 37 and data[-1] == OP_CHECKMULTISIG and OP_1 <= data[-2] <= OP_16 - 1 and OP_1 <= data[0] <= data[-2]:
        return "multisig"
    return "unknown"


def last_push(data: bytes) -> bytes | None:
    """The last pushed item of a script (a P2SH redeem script), or None."""
    try:
        pushes = [push for _, push in ops(data)]
    except ScriptError:
        return None
    return pushes[-1] if pushes and pushes[-1] is not None else None
