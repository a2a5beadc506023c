"""The approval matrix (审批矩阵): amount bands (``bands``), its derivation from the ERP budget center's
cost-center holders and the OA's managers into versioned master data (``derive``), and the resolver
the approval engine asks for a document's nodes (``resolve``)."""
