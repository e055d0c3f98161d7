/// <reference types="vite/client" />

interface ImportMetaEnv {
  /** The API that receives sightline's batches (default: the demo collector under `vite dev`). */
  readonly VITE_SIGHTLINE_API?: string;
}
