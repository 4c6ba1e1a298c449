;; Risk-parity mix.
;; Each sleeve gets weight in inverse proportion to its 60-day volatility. While SPY's price
;; is calmer over a month than over five months, equities are one of the sleeves; otherwise
;; the equity sleeve is replaced by short Treasuries.
(defsymphony
 "Risk parity mix"
 {:asset-class "EQUITIES", :rebalance-threshold 0.05}
 (if (< (stdev-price "SPY" {:window 20}) (stdev-price "SPY" {:window 100}))
   [(weight-inverse-volatility 60
      [(asset "VTI" "Vanguard Total Stock Market ETF")
       (asset "TLT" "iShares 20+ Year Treasury Bond ETF")
       (asset "GLD" "SPDR Gold Shares")
       (asset "DBC" "Invesco DB Commodity Index Tracking Fund")
       (group "Bond ladder"
         [(weight-specified 0.5 (asset "SHY" nil) 0.3 (asset "IEF" nil) 0.2 (asset "AGG" nil))])])]
   [(weight-inverse-volatility 60
      [(asset "SHY" "iShares 1-3 Year Treasury Bond ETF")
       (asset "TLT" "iShares 20+ Year Treasury Bond ETF")
       (asset "GLD" "SPDR Gold Shares")
       (asset "DBC" "Invesco DB Commodity Index Tracking Fund")])]))
