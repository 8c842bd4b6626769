"""Developer tools: synthetic Promidata feeds, a feed server and the sample-feed builder.

Used by the tests, scripts/ and to regenerate sample_feed/; the app never imports this package.
"""
