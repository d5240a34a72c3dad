"""The wire protocol every part speaks: TF Serving's messages and stubs, and NumPy ⇄ TensorProto.

Light (protobuf, grpcio, NumPy): the client, the gateway and the model server all import it, and
it imports none of them.
"""
