/** The authors' architecture (samb-t/infty-diff SparseUNet) and the import of their PyTorch weights. */
export {
  AuthorsSparseUNet, AuthorsContext, AUTHORS_BUFFERS, authorsDepthwise, interpolateMatrix, resampleKernelBilinear, authorsKnnTable, authorsGridSampleTable,
  torchLinspace01, OFF_GRID_KERNEL, OffGridKernel, KNN_TIES,
} from "./sparse-unet";
export { AuthorsImportError, authorsConfig, mapAuthorsState, importAuthorsWeights, importAuthorsEncoder, detectAuthorsBackend } from "./import";
export { AuthorsEncoder } from "./encoder";
export { TORCH_PERM, TorchKind, KindTable, TConvTranspose2d, geluErf, authorsTimeEmbedding, torchView, labShape } from "./layers";
export { authorsStateDict, authorsConfigValues, authorsKeyList, authorsKinds } from "./export";
