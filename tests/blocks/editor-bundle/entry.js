// The block editor's block API and core blocks, as WordPress loads them: window.wp.blocks.
// As in WordPress, the block editor's hooks (generated class names, custom classes...) are loaded.
import '@wordpress/block-editor';
import * as blocks from '@wordpress/blocks';
import { registerCoreBlocks } from '@wordpress/block-library';

window.wp = { blocks };
registerCoreBlocks();
window.__ready = true;
