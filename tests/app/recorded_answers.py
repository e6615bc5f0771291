"""Answers the public Esplora servers give, written down from their own sources (this
machine cannot reach them): status, headers and body, with where each comes from.

- electrs: Blockstream/electrs `src/rest.rs` (new-index, abfbce73) and mempool/electrs
  `src/rest.rs` (80758eac), the Esplora behind blockstream.info and mempool.space.
- mempool: mempool/mempool `backend/src/api/bitcoin/bitcoin.routes.ts` (3b6ed8bd), whose
  `production/nginx/location-api.conf` sends /api/fee-estimates to it, the rest to electrs.
- Bitcoin Core: the texts sendrawtransaction gives, which electrs passes on.
"""

TXID = "ab" * 32

# mempool.space /api/fee-estimates: getPreciseRecommendedFeesEsploraTransformed sets 203
# ("Non-Authoritative Information") and a deprecation header; the keys are electrs'.
FEE_ESTIMATES_203 = (203, {
    "x-warning-from-mempool": "This endpoint is deprecated and will be removed in a future release. "
                              "Please use /api/v1/fees/precise instead.",
    "content-type": "application/json; charset=utf-8",
}, '{"1":4.021,"2":4.021,"3":3.5,"4":3.5,"5":3.5,"6":2.05,"7":2.05,"8":2.05,"9":2.05,"10":2.05,'
   '"11":2.05,"12":2.05,"13":2.05,"14":2.05,"15":2.05,"16":2.05,"17":2.05,"18":2.05,"19":2.05,'
   '"20":2.05,"21":2.05,"22":2.05,"23":2.05,"24":2.05,"25":2.05,"144":1.01,"504":1.0,"1008":1.0}')

# electrs get_tx_status: TransactionStatus::from(None) for a txid it has never seen.
STATUS_OF_UNKNOWN_TX = (200, {"content-type": "application/json"}, '{"confirmed":false}')

# electrs /tx/:txid/outspend/:vout: SpendingValue::default() when lookup_spend finds nothing.
OUTSPEND_OF_UNKNOWN_OUTPUT = (200, {"content-type": "application/json"}, '{"spent":false}')

# electrs /tx/:txid and /tx/:txid/hex for a txid it has never seen.
TX_NOT_FOUND = (404, {"content-type": "text/plain"}, "Transaction not found")

# electrs POST /tx: HttpError::from(err.description()) of daemon.rs' `"{method} RPC error: {err}"`.
REFUSED_LOW_FEE = (400, {"content-type": "text/plain"},
                   'sendrawtransaction RPC error: {"code":-26,"message":"min relay fee not met, 100 < 141"}')
REFUSED_NON_FINAL = (400, {"content-type": "text/plain"},
                     'sendrawtransaction RPC error: {"code":-26,"message":"non-final"}')
REFUSED_CONFLICT = (400, {"content-type": "text/plain"},
                    'sendrawtransaction RPC error: {"code":-26,"message":"insufficient fee, rejecting replacement '
                    + TXID + ', less fees than conflicting txs; 0.00000169 < 0.00000338"}')
REFUSED_ALREADY_CONFIRMED = (400, {"content-type": "text/plain"},
                             'sendrawtransaction RPC error: {"code":-27,"message":"Transaction outputs already in '
                             'utxo set"}')
REFUSED_MISSING_INPUTS = (400, {"content-type": "text/plain"},
                          'sendrawtransaction RPC error: {"code":-25,"message":"bad-txns-inputs-missingorspent"}')
# mempool's own backend (POST /api/tx when it is not behind electrs) keeps only the code,
# and says this when bitcoind gave no coded error (it did not answer): not a refusal.
REFUSED_CODE_ONLY = (400, {"content-type": "text/plain"}, 'sendrawtransaction RPC error: {"code":-26}')
POST_FAILED = (400, {"content-type": "text/plain"}, "Failed to send raw transaction")

# mempool's backend while its mempool is not in sync (getPreciseRecommendedFeesEsploraTransformed),
# which is also what nginx's limit_req answers by default (503, no Retry-After).
UNAVAILABLE = (503, {"content-type": "text/html"}, "Service Unavailable")

# Not recorded from either source (mempool's nginx config in its repository has no limit_req):
# the 429 with Retry-After that RFC 6585 and RFC 9110 describe, as rate-limiting proxies send it.
RATE_LIMITED = (429, {"retry-after": "3", "content-type": "text/html"}, "<html>429 Too Many Requests</html>")
