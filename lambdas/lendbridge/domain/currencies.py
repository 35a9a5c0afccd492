"""ISO 4217 currency codes a loan can be denominated in.

The active alphabetic codes of ISO 4217 (list one, as amended to 2025: ANG gave way to XCG,
ZWL to ZWG, HRK and SLL were withdrawn), fund codes included (a Chilean facility is often
written in CLF). Left out on purpose: precious metals (XAU, XAG, XPD, XPT), the bond-market
units (XBA to XBD), the SDR-like units (XDR, XSU, XUA) and the codes that mean "no currency"
or "testing" (XXX, XTS): nobody books a commercial loan in them, and accepting XXX would let
an extraction say "currency unknown" while looking valid.
"""

from __future__ import annotations

# One string rather than 165 quoted items: a table a person can check against the standard.
ISO_4217_CODES: frozenset[str] = frozenset(
    """
    AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL BSD BTN
    BWP BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUP CVE CZK DJF DKK DOP DZD EGP
    ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR
    ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA
    MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK
    PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC
    SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED VES VND
    VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG
    """.split()  # noqa: SIM905
)


def is_currency(code: str) -> bool:
    """Exactly three upper-case letters on the list: "usd" and " USD" are not codes."""
    return code in ISO_4217_CODES
