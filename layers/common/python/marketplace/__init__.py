"""The online intermediary-service marketplace (网上中介服务超市): the shared Lambda layer.

domain/ holds the rules and imports no AWS library; services/ the use cases; repositories/ the
only code that touches PynamoDB and botocore.
"""
