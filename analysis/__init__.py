"""Text analysis shared by the indexer and the api: a query is cut exactly like the text.

normalise → segment (jieba words) + character bigrams; plus 文号 and date parsing."""

from analysis.normalize import normalize
from analysis.segment import bigrams, words, analyze, Analyzed

__all__ = ["normalize", "words", "bigrams", "analyze", "Analyzed"]
