;; Leveraged trend with RSI guards.
;; In an uptrend (SPY above its 200-day average) hold leveraged Nasdaq, but step into
;; volatility when TQQQ or SPY is overbought and out of the way after a sharp SPY drawdown.
;; In a downtrend buy TQQQ only when deeply oversold; otherwise short Nasdaq while QQQ stays
;; below its 20-day EMA, unless that short has already run, then sit in T-bills.
(defsymphony
 "Leveraged trend with RSI guards"
 {:asset-class "EQUITIES", :rebalance-frequency :daily}
 (weight-equal
  [(if (> (current-price "SPY") (moving-average-price "SPY" {:window 200}))
     [(if (> (rsi "TQQQ" {:window 10}) 79)
        [(asset "UVXY" "ProShares Ultra VIX Short-Term Futures ETF")]
        [(if (> (rsi "SPY" {:window 10}) 80)
           [(asset "VIXY" "ProShares VIX Short-Term Futures ETF")]
           [(if (> (max-drawdown "SPY" {:window 10}) 6)
              [(asset "BIL" "SPDR Bloomberg 1-3 Month T-Bill ETF")]
              [(weight-specified
                0.8 (asset "TQQQ" "ProShares UltraPro QQQ")
                0.2 (asset "BIL" "SPDR Bloomberg 1-3 Month T-Bill ETF"))])])])]
     [(if (< (rsi "TQQQ" {:window 10}) 31)
        [(asset "TQQQ" "ProShares UltraPro QQQ")]
        [(if (< (current-price "QQQ") (exponential-moving-average-price "QQQ" {:window 20}))
           [(if (< (cumulative-return "QQQ" {:window 5}) -6)
              [(asset "BIL" "SPDR Bloomberg 1-3 Month T-Bill ETF")]
              [(asset "SQQQ" "ProShares UltraPro Short QQQ")])]
           [(asset "QQQ" "Invesco QQQ Trust")])])])]))
