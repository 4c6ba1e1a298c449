;; Momentum rotation.
;; A third in the two strongest sectors over three months; a third in the asset class whose
;; own (daily rebalanced) portfolio has the best average daily return over a month — the
;; Treasury sleeve itself switches to shorter duration when long bonds turn volatile; a third
;; in whichever bond fund fell least over three months.
(defsymphony
 "Momentum rotation"
 {:asset-class "EQUITIES", :rebalance-threshold 0.05}
 (weight-equal
  [(group "Sector momentum"
     [(filter (cumulative-return {:window 60}) (select-top 2)
        [(asset "XLK" "Technology Select Sector SPDR Fund")
         (asset "XLE" "Energy Select Sector SPDR Fund")
         (asset "XLV" "Health Care Select Sector SPDR Fund")
         (asset "XLF" "Financial Select Sector SPDR Fund")
         (asset "XLP" "Consumer Staples Select Sector SPDR Fund")
         (asset "XLU" "Utilities Select Sector SPDR Fund")])])
   (group "Asset-class momentum"
     [(filter (moving-average-return {:window 20}) (select-top 1)
        [(group "US equities"
           [(weight-equal [(asset "SPY" nil) (asset "QQQ" nil)])])
         (group "International equities"
           [(weight-equal [(asset "VEA" nil) (asset "VWO" nil)])])
         (group "Treasuries"
           [(if (> (stdev-return "TLT" {:window 20}) 1.2)
              [(asset "IEF" "iShares 7-10 Year Treasury Bond ETF")]
              [(asset "TLT" "iShares 20+ Year Treasury Bond ETF")])])
         (group "Real assets"
           [(weight-equal [(asset "GLD" nil) (asset "DBC" nil)])])])])
   (group "Shallowest bond drawdown"
     [(filter (max-drawdown {:window 60}) (select-bottom 1)
        [(asset "SHY" nil) (asset "IEF" nil) (asset "BND" nil) (asset "AGG" nil)])])]))
