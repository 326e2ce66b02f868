"""The desk (工作台): each role's landing page after sign-in, what waits for them, read
from each domain's tables and views; every item links to where it is done."""
