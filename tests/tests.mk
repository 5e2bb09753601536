# tests/tests.mk: test rules shared by every part (included by Makefile.am
# after the parts' fragments).

# Parts that kept their valgrind list in a variable of their own.
VALGRIND_TESTS += $(KEETA_BLOCK_VALGRIND_TESTS) $(DEVNET_VALGRIND_TESTS)
