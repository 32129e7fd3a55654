"""From files to a searchable index: articles, chunks, vectors, the Chroma store and the BM25 mirror.

Must not import the assistant's service or adapters; only :mod:`index.store`, :mod:`index.store_staging` and
:mod:`index.chroma_client` import chromadb.
"""
