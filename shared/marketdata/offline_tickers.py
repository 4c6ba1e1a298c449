"""The tickers the offline market knows besides its modelled ETFs: well-known US stocks and ETFs.

Each gets the generic synthetic series (offline_model.generic_returns, seeded by the ticker), so a real
symphony runs offline; a ticker on no list is most likely a typo and is refused, naming the closest known
tickers (`closest`), unless invented histories are allowed explicitly (OfflineMarketData(invent_any=True),
`--allow-invented-tickers`, ALCHEMISER_ALLOW_INVENTED_TICKERS=1).

The lists were written by hand: the S&P 100 and Nasdaq-100 members, other large and much-traded US stocks,
and the ETFs Composer symphonies hold most (sectors and industries, factors, international, bonds and cash,
commodities, currencies, volatility, managed futures, crypto, leveraged and inverse). Adding a ticker never
changes another ticker's series.
"""

from __future__ import annotations

import difflib
import functools


def _words(text: str) -> list[str]:
    """A block of tickers, one word each (easier to read and to extend than a list of strings)."""
    return text.split()


STOCKS = _words("""
AAPL ABBV ABNB ABT ACN ADBE ADI ADP ADSK AEP AIG ALGN AMAT AMD AMGN AMT AMZN ANET ANSS APP ARM ASML AVGO AXON
AXP AZN BA BAC BIIB BK BKNG BKR BLK BMY BRK.B BX C CAT CCEP CDNS CDW CEG CHTR CL CMCSA COF COIN COP COST CPRT
CRM CRWD CSCO CSGP CSX CTAS CTSH CVS CVX DASH DDOG DE DHR DIS DLTR DOW DUK DXCM EA EMR EXC F FANG FAST FDX
FTNT GD GE GEHC GFS GILD GIS GM GOOG GOOGL GS HD HON HOOD IBM IDXX ILMN INTC INTU ISRG JNJ JPM KDP KHC KLAC
KO LIN LLY LMT LOW LRCX LULU MA MAR MCD MCHP MDB MDLZ MDT MELI MET META MMM MNST MO MRK MRNA MRVL MS MSFT
MSTR MU NEE NFLX NKE NOW NVDA NXPI ODFL ON ORCL ORLY PANW PAYX PCAR PDD PEP PFE PG PLTR PM PYPL QCOM REGN
RIVN ROP ROST RTX SBUX SCHW SHOP SMCI SNOW SNPS SO SPG T TEAM TGT TMO TMUS TSLA TTD TTWO TXN UBER UNH UNP
UPS USB V VRSK VRTX VZ WBA WBD WDAY WFC WMT XEL XOM ZM ZS
ACGL AFL AJG ALL AME AMP AON APD APH APO ARES AVB AZO BDX BSX CARR CB CBRE CI CMG CME CMI CNC COR CPAY CTVA
D DAL DELL DFS DG DHI DLR ECL ED EFX EIX EL ELV EOG EQIX EQR ETN EW FCX FI FICO FIS FITB GEV GLW GRMN GWW
HCA HES HLT HPE HPQ HSY HUM ICE IQV IR IT ITW JCI KKR KMB KMI KR KVUE LEN LHX LYV MCK MCO MMC MPC MPWR MSCI
MSI NDAQ NEM NOC NRG NSC NUE O OKE OTIS OXY PCG PEG PGR PH PLD PNC PPG PRU PSA PSX PWR RCL RMD ROK RSG SHW
SLB SPGI SRE STZ SYK SYY TDG TEL TJX TRGP TRV TSN TT UAL URI VLO VMC VST WAB WELL WM WMB WY YUM ZTS
AFRM AI CCL CELH CHWY CVNA DKNG DOCU ENPH ETSY FSLR FUBO GME HIMS IONQ JD LCID LYFT MARA NET NIO OKTA PINS
RBLX RDDT RIOT ROKU SE SNAP SOFI SPOT SQ TOST TWLO U UPST XYZ BABA BIDU NTES TSM SONY TM NVO SAP SHEL BP
""")

ETFS = _words("""
ACWI ACWX AGQ ARKB ARKF ARKG ARKK ARKQ ARKW ASHR BAR BITB BITI BITX BLV BNDX BNO BOIL BOTZ BOXX BRZU BSV
BTF BULZ CIBR CLSE COMT CONL COPX CORN CPER CTA CURE CWB DBA DBB DBE DBO DBP DBS DFEN DGRO DOG DPST DRIP DRN
DRV DUSL DUST DXD EDC EDV EDZ EFV EMB ETHA ETHE EUO EURL EWA EWC EWG EWH EWT EWU EWW EWY EZU FBTC FLOT FMF
FNGD FNGS FNGU FXA FXB FXC FXE FXF FXY GBTC GDXJ GLDM GOVT GSG GUSH HACK HDV HEDJ HIBL HIBS IBB IBIT ICLN
IEFA IEMG IGSB IGV IJH IJR INDA INDL ITA ITB ITOT IUSB IWB IWD IWF IWN IWO IWV IXUS IYR IYT JDST JETS JNUG
JPST KBE KOLD KORU KWEB LIT MCHI MDY MEXX MGK MIDU MINT MOO MTUM MUB NAIL NEAR NOBL NUGT NVDL OEF OIH OUNZ
PALL PAVE PDBC PICK PPLT QID QQQE QQQM QUAL REMX RETL RING ROBO ROM RSP RWM SAA SCHA SCHB SCHD SCHG SCHO
SCHR SCHX SCO SDD SGOL SGOV SIL SILJ SIVR SKF SKYY SMDD SOYB SPHB SPIB SPLV SPTL SPTS SPXS SPYG SPYV SRS
SRTY SVIX SVOL TAN TFLO TLH TPOR TSLL TTT TWM TYD TYO UCO UDN UGA URA URE URTY USD USFR USMV UTSL UVIX UWM
UYG VB VBR VCIT VCR VCSH VDC VDE VFH VGIT VGK VGLT VGSH VGT VHT VIG VIS VLUE VNQI VO VPU VT VTV VUG VXUS VXZ
VYM WEAT WEBL WEBS WOOD WTMF XAR XHB XLG XME XOP XRT XTN YANG YINN ZROZ ZSL ERY GDXD GDXU LABU LABD RXL
SSG UGL USL VIXM
""")

KNOWN = tuple(sorted(set(STOCKS) | set(ETFS)))


@functools.lru_cache(maxsize=1)
def _everything(modelled: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(sorted({*modelled, *KNOWN}))


def edits(a: str, b: str) -> int:
    """Insertions, deletions, substitutions and swaps of two neighbours that turn `a` into `b` (a typo's size)."""
    before, row = None, list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            cost = min(row[j] + 1, current[j - 1] + 1, row[j - 1] + (x != y))
            if before is not None and i > 1 and j > 1 and x == b[j - 2] and a[i - 2] == y:
                cost = min(cost, before[j - 2] + 1)
            current.append(cost)
        before, row = row, current
    return row[-1]


def closest(symbol: str, modelled: tuple[str, ...], count: int = 3) -> list[str]:
    """The known tickers nearest to `symbol`, best first: fewest edits, then difflib's similarity."""
    def distance(known: str) -> tuple[int, float, str]:
        return edits(symbol, known), -difflib.SequenceMatcher(None, symbol, known).ratio(), known

    return sorted(_everything(modelled), key=distance)[:count]
