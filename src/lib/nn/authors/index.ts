/** The authors' architecture (samb-t/infty-diff SparseUNet) and the import of their PyTorch weights. */
export { AuthorsSparseUNet, AuthorsContext, AUTHORS_BUFFERS, authorsDepthwise, interpolateMatrix, resampleKernelBilinear, authorsKnnTable, authorsGridSampleTable } from "./sparse-unet";
export { AuthorsImportError, authorsConfig, mapAuthorsState, importAuthorsWeights } from "./import";
export { TORCH_PERM, TorchKind, KindTable, TConvTranspose2d, geluErf, authorsTimeEmbedding } from "./layers";
