/* link_main.c -- empty program: tests/CMakeLists.txt links one layer's
 * whole archive into it with only the layers that layer may use, so a
 * wrong-way call fails to link (docs/architecture.md). */
int main(void)
{
        return 0;
}
