package dev.pocketbert.qa;

/**
 * One WordPiece token with its id and the half-open range {@code [start, end)} of Unicode code points in the
 * original text it came from (CONTRACTS.md §3).
 */
public record Token(String text, int id, int start, int end) {}
