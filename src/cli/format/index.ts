export { Template, TemplateError, renderTemplate, formatValue, goJson, isTemplateObject, type TemplateObject } from './template.js';
export { tabwrite, DOCKER_TABLE, type TabwriterOptions } from './tabwriter.js';
export { truncateId, ellipsis, goTimeString, goQuote } from './text.js';
export { ContainerContext, HeaderContext, containerHeader, displayablePorts, DEFAULT_CONTAINER_TABLE } from './container-context.js';
export { ImageContext, imageHeader, imageRows, DEFAULT_IMAGE_TABLE, DEFAULT_IMAGE_TABLE_DIGESTS } from './image-context.js';
export { prepareFormat, renderRows, FormatError, type PreparedFormat } from './list-writer.js';
export { indentJson } from './json-indent.js';
export { DEFAULT_NETWORK_TABLE, DEFAULT_VOLUME_TABLE, networkHeader, networkRow, volumeHeader, volumeRow, type NetworkRow, type VolumeRow } from './network-volume-context.js';
