<?php
// WordPress's own block parser on posts of the local test site: `php parse_blocks.php ID...`
// prints {"ID": [block, ...]} as JSON, each block {"name", "html", "inner"} from parse_blocks():
// name null is a freeform (classic) chunk, html its innerHTML. php-cli on the site's own files and
// database: nothing listens, so nothing but this machine can reach it.
// Env: WP_HOSTPORT (127.0.0.1:PORT), WORDPRESS_CONFIG (the site's /etc/wordpress/config-*.php).
error_reporting(E_ALL & ~E_DEPRECATED);
ini_set('display_errors', 'stderr');
$_SERVER['HTTP_HOST'] = getenv('WP_HOSTPORT');
$_SERVER['WORDPRESS_CONFIG'] = getenv('WORDPRESS_CONFIG');
$_SERVER['SERVER_NAME'] = '127.0.0.1';
$_SERVER['REQUEST_URI'] = '/';
$_SERVER['REQUEST_METHOD'] = 'GET';
require '/usr/share/wordpress/wp-load.php';

function pipeline_block_summary(array $block): array {
    return [
        'name' => $block['blockName'],
        'html' => $block['innerHTML'],
        'inner' => array_map('pipeline_block_summary', $block['innerBlocks']),
    ];
}

$found = [];
foreach (array_slice($argv, 1) as $id) {
    $post = get_post((int) $id);
    $found[$id] = $post ? array_map('pipeline_block_summary', parse_blocks($post->post_content)) : null;
}
echo json_encode($found, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE), "\n";
