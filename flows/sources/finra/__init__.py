"""FINRA: consolidated short interest (twice monthly) and Reg SHO daily short-sale volume."""
